import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentUser, RequirePermission } from '../../auth/access.decorators';
import { AuthUser } from '../../auth/auth-user';
import { ApiErrors } from '../../common/decorators/api-error-responses';
import { writeJson } from '../../common/http/write-json';
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
  @ApiOkResponse({ type: PollResponseDto })
  @ApiErrors(401, 403, 404, 422, 429, 503)
  async poll(
    @CurrentUser() user: AuthUser,
    @Body() body: PollRequestDto,
    @Res() response: Response,
  ): Promise<void> {
    // One serialised body per released message, written as is (not a `res.json` per waiter);
    // errors are thrown before anything is written, so the exception filter renders them.
    const answer = await this.polls.poll(
      user,
      {
        topics: body.topics,
        since: body.since ?? null,
        timeoutSeconds: body.timeout ?? DEFAULT_POLL_TIMEOUT_SECONDS,
      },
      response,
    );
    if (answer) writeJson(response, 200, answer);
  }

  @Get('stats')
  @Authenticated()
  @ApiOperation({ summary: "The caller's waiting polls on this instance (all of them for admins)" })
  @ApiErrors(401, 403)
  stats(@CurrentUser() user: AuthUser): PollStatsDto {
    return this.polls.stats(user);
  }
}
