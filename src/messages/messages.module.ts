import { Module } from '@nestjs/common';
import { TopicsModule } from '../topics/topics.module';
import { IdempotencyService } from './idempotency.service';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';
import { BulkPublishBodyPipe, PublishBodyPipe } from './publish-body.pipes';
import { PublishRateLimiter } from './publish-rate-limiter';

@Module({
  imports: [TopicsModule],
  controllers: [MessagesController],
  providers: [
    MessagesService,
    IdempotencyService,
    PublishRateLimiter,
    PublishBodyPipe,
    BulkPublishBodyPipe,
  ],
  exports: [MessagesService],
})
export class MessagesModule {}
