import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { HttpErrorFilter } from './common/filters/http-error.filter';
import { TrustedHostsMiddleware } from './common/middleware/trusted-hosts.middleware';
import { RelayValidationPipe } from './common/pipes/relay-validation.pipe';
import { RelayConfig } from './config/relay-config';
import { RelayConfigModule } from './config/relay-config.module';
import { DeliveryModule } from './delivery/delivery.module';
import { FastPathModule } from './fast-path/fast-path.module';
import { HealthModule } from './health/health.module';
import { loggerOptions } from './logger';
import { MessagesModule } from './messages/messages.module';
import { HttpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { MetricsModule } from './metrics/metrics.module';
import { StorageModule } from './storage/storage.module';
import { TopicsModule } from './topics/topics.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule implements NestModule {
  static forRoot(config: RelayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RelayConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(config)),
        MetricsModule.forRoot(),
        FastPathModule,
        StorageModule.forRoot(config),
        HealthModule,
        UsersModule,
        AuthModule,
        TopicsModule,
        MessagesModule,
        DeliveryModule,
      ],
      providers: [
        { provide: APP_PIPE, useClass: RelayValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*path');
    // Probes and scrapers address pods by IP: the Host check would fail them.
    consumer.apply(TrustedHostsMiddleware).exclude('health', 'ready', 'metrics').forRoutes('*path');
  }
}
