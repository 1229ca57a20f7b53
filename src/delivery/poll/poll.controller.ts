import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentUser, RequirePermission } from '../../auth/access.decorators';
import { AuthUser } from '../../auth/auth-user';
import { ApiErrors } from '../../common/decorators/api-error-responses';
import { DEFAULT_POLL_TIMEOUT_SECONDS, PollRequestDto } from './dto/poll-request.dto';
import { PollResponseDto, PollStatsDto } from './dto/poll-response.dto';
import { PollService } from './poll.service';

@ApiTags('delivery')
@Controller('messages/poll')
export class PollController {
  constructor(private readonly polls: PollService) {}

  @Post()
  @HttpCode(200)
  @RequirePermission('read')
  @ApiOperation({
    summary: 'Long-poll topics for messages',
    description:
      'Catches up after `since` per topic, else waits up to `timeout` seconds for the first new ' +
      'message. A topic that is missing or not readable answers 404 for the whole request; a ' +
      'waited-on topic that is deleted answers 404 at once.',
  })
  @ApiErrors(401, 403, 404, 422, 429, 503)
  poll(
    @CurrentUser() user: AuthUser,
    @Body() body: PollRequestDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<PollResponseDto> {
    const abort = new AbortController();
    // Only a client that went away before its answer aborts (an AbortError per answer is costly).
    response.once('close', () => {
      if (!response.writableFinished) abort.abort();
    });
    return this.polls.poll(
      user,
      {
        topics: body.topics,
        since: body.since ?? null,
        timeoutSeconds: body.timeout ?? DEFAULT_POLL_TIMEOUT_SECONDS,
      },
      abort.signal,
    );
  }

  @Get('stats')
  @Authenticated()
  @ApiOperation({ summary: "The caller's waiting polls on this instance (all of them for admins)" })
  @ApiErrors(401, 403)
  stats(@CurrentUser() user: AuthUser): PollStatsDto {
    return this.polls.stats(user);
  }
}
