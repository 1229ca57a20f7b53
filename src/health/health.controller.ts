import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/access.decorators';
import { StorageMonitor } from './storage-monitor';
import { RELAY_VERSION } from './version';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(private readonly monitor: StorageMonitor) {}

  @Get('health')
  @Public()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  health(): { status: string; timestamp: string; version: string } {
    return { status: 'healthy', timestamp: new Date().toISOString(), version: RELAY_VERSION };
  }

  @Get('ready')
  @Public()
  @ApiOperation({ summary: 'Readiness: 200 when storage answers, else 503' })
  @ApiResponse({
    status: 503,
    description: 'Storage unreachable: `{ready: false, checks: {storage: "unavailable"}}`',
  })
  async ready(
    @Res({ passthrough: true }) response: Response,
  ): Promise<{ ready: boolean; checks: { storage: string } }> {
    const storage = await this.monitor.check();
    response.status(storage === 'ok' ? 200 : 503);
    return { ready: storage === 'ok', checks: { storage } };
  }
}
