import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { RelayConfig } from './relay-config';

/** Makes the already validated `RelayConfig` injectable everywhere (and through `ConfigService`). */
@Global()
@Module({})
export class RelayConfigModule {
  static forRoot(config: RelayConfig): DynamicModule {
    return {
      module: RelayConfigModule,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          ignoreEnvVars: true,
          load: [() => ({ relay: config })],
        }),
      ],
      providers: [{ provide: RelayConfig, useValue: config }],
      exports: [RelayConfig],
    };
  }
}
