import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AuthUser, hasPermission } from '../../auth/auth-user';
import { TokenVerifier } from '../../auth/token-verifier';
import {
  BadRequestError,
  DomainError,
  PermissionRequiredError,
  UnauthenticatedError,
} from '../../common/errors';
import { isTrustedHost } from '../../common/middleware/trusted-hosts';
import { RelayConfig } from '../../config/relay-config';
import { ConsumerRegistry } from '../consumer-registry';
import {
  OriginNotAllowedError,
  ShuttingDownError,
  TooManyConnectionsError,
} from '../delivery-errors';

/** An accepted handshake, holding a connection slot until the socket opens (or the attempt dies). */
export interface HandshakeGrant {
  readonly user: AuthUser;
  /** Hands the slot over to the opened connection (which the registry then counts). */
  claim(): void;
}

export interface Refusal {
  status: number;
  code: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * Everything decided before a WebSocket upgrade: trusted host, Origin allow-list, token (query or
 * `bearer` subprotocol pair, deny-list included), global `read`, and connection limits. Refusals
 * are plain HTTP responses (401/403/429/503 with a JSON body); nothing is upgraded first.
 */
@Injectable()
export class WsHandshake {
  private readonly grants = new WeakMap<IncomingMessage, HandshakeGrant>();
  /** Accepted handshakes whose socket is not open yet, so that limits hold under a burst. */
  private readonly pendingByUser = new Map<string, number>();
  private pendingTotal = 0;
  private draining = false;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly registry: ConsumerRegistry,
    private readonly config: RelayConfig,
  ) {}

  /** Refuses every later handshake (graceful shutdown). */
  stopAccepting(): void {
    this.draining = true;
  }

  /** Resolves when the upgrade may proceed; throws the `DomainError` to answer otherwise. */
  async authorize(req: IncomingMessage): Promise<void> {
    const { server, limits } = this.config;
    if (!isTrustedHost(req.headers.host, server.trustedHosts)) {
      throw new BadRequestError('Invalid host header', 'INVALID_HOST');
    }
    if (this.draining) throw new ShuttingDownError();
    const origin = req.headers.origin;
    if (origin !== undefined && !server.allowedOrigins.includes(origin)) {
      throw new OriginNotAllowedError();
    }
    const token = extractToken(req);
    if (token === null) throw new UnauthenticatedError();
    const user = await this.verifier.verify(token);
    if (!hasPermission(user, 'read')) throw new PermissionRequiredError('read');
    if (this.draining) throw new ShuttingDownError();
    if (this.registry.total('websocket') + this.pendingTotal >= limits.maxConnectionsPerInstance) {
      throw new TooManyConnectionsError('This instance is at its connection limit', 503);
    }
    const pending = this.pendingByUser.get(user.userId) ?? 0;
    if (this.registry.countForUser(user.userId, 'websocket') + pending >= limits.wsMaxPerUser) {
      throw new TooManyConnectionsError('Too many concurrent connections', 429);
    }
    this.grants.set(req, this.reserve(user, req));
  }

  /** The grant of an authorized request (once). */
  take(req: IncomingMessage): HandshakeGrant | null {
    const grant = this.grants.get(req) ?? null;
    this.grants.delete(req);
    return grant;
  }

  private reserve(user: AuthUser, req: IncomingMessage): HandshakeGrant {
    this.pendingTotal++;
    this.pendingByUser.set(user.userId, (this.pendingByUser.get(user.userId) ?? 0) + 1);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      this.pendingTotal--;
      const left = (this.pendingByUser.get(user.userId) ?? 1) - 1;
      if (left > 0) this.pendingByUser.set(user.userId, left);
      else this.pendingByUser.delete(user.userId);
    };
    // The upgrade may still fail (client gone): the slot must not leak.
    req.socket.once('close', release);
    return {
      user,
      claim: () => {
        req.socket.off('close', release);
        release();
      },
    };
  }
}

/**
 * The token of a handshake: the subprotocol pair `bearer, bearer.<JWT>` (0.2.x clients) or
 * `?token=<JWT>` (0.1.0 clients).
 */
export function extractToken(req: IncomingMessage): string | null {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header === 'string') {
    const offered = header.split(',').map((p) => p.trim());
    const carrier = offered.find((p) => p.startsWith('bearer.') && p.length > 'bearer.'.length);
    if (offered.includes('bearer') && carrier) return carrier.slice('bearer.'.length);
  }
  const query = new URL(req.url ?? '/', 'http://relay.invalid').searchParams.get('token');
  return query ? query : null;
}

/** The HTTP answer to a refused handshake, in the API's error shape. */
export function refusalFor(error: unknown): Refusal {
  const domain =
    error instanceof DomainError
      ? error
      : new DomainError(500, 'INTERNAL_ERROR', 'Internal Server Error');
  return {
    status: domain.status,
    code: domain.code,
    body: JSON.stringify({ detail: domain.detail, code: domain.code }),
    headers: { 'Content-Type': 'application/json', ...domain.headers },
  };
}
