import { Injectable, OnModuleInit } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { BearerAuth } from '../auth/bearer-auth';
import { RelayConfig } from '../config/relay-config';
import { FastPath } from '../fast-path/fast-path';
import { IdempotencyService } from './idempotency.service';
import { parseBulkBody, parsePublishBody, PublishLimits } from './message-input';
import { MessagesService } from './messages.service';

const hasBearer = (request: IncomingMessage): boolean =>
  BearerAuth.hasBearer(request.headers.authorization);

const idempotencyKey = (request: IncomingMessage): string | undefined =>
  IdempotencyService.normalizeKey(request.headers['idempotency-key']);

/**
 * `MessagesController`'s two routes on the fast path: `@RequirePermission('write')`, then the
 * body parsers of its pipes, then the same service calls. Requests the fast path does not take
 * (no bearer token, chunked or compressed bodies, ...) reach the controller.
 */
@Injectable()
export class PublishFastRoutes implements OnModuleInit {
  private readonly limits: PublishLimits;

  constructor(
    private readonly fastPath: FastPath,
    private readonly auth: BearerAuth,
    private readonly messages: MessagesService,
    config: RelayConfig,
  ) {
    this.limits = config.limits;
  }

  onModuleInit(): void {
    this.fastPath.register({
      path: '/api/v1/messages',
      accepts: hasBearer,
      handle: async (request, body) => {
        const user = await this.auth.require(request.headers.authorization, 'write');
        const message = parsePublishBody(body, this.limits);
        const result = await this.messages.publish(user, message, idempotencyKey(request));
        return { status: 201, body: result };
      },
    });
    this.fastPath.register({
      path: '/api/v1/messages/bulk',
      accepts: hasBearer,
      handle: async (request, body) => {
        const user = await this.auth.require(request.headers.authorization, 'write');
        const messages = parseBulkBody(body, this.limits);
        const result = await this.messages.publishBulk(user, messages, idempotencyKey(request));
        return { status: 207, body: result };
      },
    });
  }
}
