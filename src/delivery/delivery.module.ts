import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { TopicsModule } from '../topics/topics.module';

@Module({
  imports: [AuthModule, TopicsModule],
})
export class DeliveryModule {}
