import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { RelayConfig } from '../../config/relay-config';
import { BadRequestError } from '../errors';
import { isTrustedHost } from './trusted-hosts';

@Injectable()
export class TrustedHostsMiddleware implements NestMiddleware {
  constructor(private readonly config: RelayConfig) {}

  use(request: Request, _response: Response, next: NextFunction): void {
    if (!isTrustedHost(request.headers.host, this.config.server.trustedHosts)) {
      throw new BadRequestError('Invalid host header', 'INVALID_HOST');
    }
    next();
  }
}
