import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { TopicsModule } from '../topics/topics.module';
import { IdempotencyService } from './idempotency.service';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';
import { BulkPublishBodyPipe, PublishBodyPipe } from './publish-body.pipes';
import { PublishFastRoutes } from './publish.fast-routes';
import { PublishRateLimiter } from './publish-rate-limiter';

@Module({
  imports: [AuthModule, TopicsModule],
  controllers: [MessagesController],
  providers: [
    MessagesService,
    IdempotencyService,
    PublishRateLimiter,
    PublishBodyPipe,
    BulkPublishBodyPipe,
    PublishFastRoutes,
  ],
  exports: [MessagesService],
})
export class MessagesModule {}
