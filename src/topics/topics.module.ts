import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { TopicAccess } from './topic-access';
import { TopicsController } from './topics.controller';
import { TopicsService } from './topics.service';

@Module({
  imports: [UsersModule],
  controllers: [TopicsController],
  providers: [TopicAccess, TopicsService],
  exports: [TopicAccess, TopicsService],
})
export class TopicsModule {}
