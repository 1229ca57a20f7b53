import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { StorageMonitor } from './storage-monitor';

@Module({
  controllers: [HealthController],
  providers: [StorageMonitor],
})
export class HealthModule {}
