import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentUser, RequirePermission } from '../../auth/access.decorators';
import { AuthUser } from '../../auth/auth-user';
import { ApiErrors } from '../../common/decorators/api-error-responses';
import { DEFAULT_POLL_TIMEOUT_SECONDS, PollRequestDto } from './dto/poll-request.dto';
import { PollResponseDto, PollStatsDto } from './dto/poll-response.dto';
import { PollService } from './poll.service';

/** A 200 JSON answer as `res.json` writes it (headers set earlier, such as `X-Request-Id`, stay). */
function writeJson(response: Response, body: Buffer): void {
  if (response.destroyed || response.headersSent) return; // the client went away
  response.statusCode = 200;
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', body.length);
  response.end(body);
}

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
    if (answer) writeJson(response, answer);
  }

  @Get('stats')
  @Authenticated()
  @ApiOperation({ summary: "The caller's waiting polls on this instance (all of them for admins)" })
  @ApiErrors(401, 403)
  stats(@CurrentUser() user: AuthUser): PollStatsDto {
    return this.polls.stats(user);
  }
}
