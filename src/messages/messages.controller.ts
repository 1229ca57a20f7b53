import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser, RequirePermission } from '../auth/access.decorators';
import { AuthUser } from '../auth/auth-user';
import { ApiErrors } from '../common/decorators/api-error-responses';
import { NewMessage } from '../storage/ports';
import {
  BulkPublishDto,
  BulkPublishResponseDto,
  PublishMessageDto,
  PublishResponseDto,
} from './dto/publish-message.dto';
import { IdempotencyService } from './idempotency.service';
import { BulkPublishResult, MessagesService, PublishResult } from './messages.service';
import { BulkPublishBodyPipe, PublishBodyPipe } from './publish-body.pipes';

const IdempotencyHeader = (): MethodDecorator =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Repeats with the same key (per user) within the idempotency window get the first response ' +
      'and store nothing; 409 while the first is still running.',
  });

@ApiTags('messages')
@Controller('api/v1/messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post()
  @RequirePermission('write')
  @HttpCode(201)
  @IdempotencyHeader()
  @ApiOperation({
    summary: 'Publish one message (a missing topic is created, owned by the caller)',
  })
  @ApiBody({ type: PublishMessageDto })
  @ApiResponse({ status: 201, type: PublishResponseDto })
  @ApiErrors(401, 403, 409, 413, 422, 429, 503)
  publish(
    @CurrentUser() user: AuthUser,
    @Body(PublishBodyPipe) message: NewMessage,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<PublishResult> {
    return this.messages.publish(user, message, IdempotencyService.normalizeKey(idempotencyKey));
  }

  @Post('bulk')
  @RequirePermission('write')
  @HttpCode(207)
  @IdempotencyHeader()
  @ApiOperation({
    summary: 'Publish up to `max_bulk_messages` messages; per-message results (207)',
  })
  @ApiBody({ type: BulkPublishDto })
  @ApiResponse({ status: 207, type: BulkPublishResponseDto })
  @ApiErrors(401, 403, 409, 413, 422, 429, 503)
  publishBulk(
    @CurrentUser() user: AuthUser,
    @Body(BulkPublishBodyPipe) messages: NewMessage[],
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<BulkPublishResult> {
    return this.messages.publishBulk(
      user,
      messages,
      IdempotencyService.normalizeKey(idempotencyKey),
    );
  }
}
