import { Module } from '@nestjs/common';
import { TopicAccess } from './topic-access';

@Module({
  providers: [TopicAccess],
  exports: [TopicAccess],
})
export class TopicsModule {}
