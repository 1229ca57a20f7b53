import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { RelayConfig } from '../config/relay-config';
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
} from '../common/errors';
import { UserRecord } from '../storage/ports';
import { UsersService } from '../users/users.service';
import { AuthUser } from './auth-user';
import { SessionDto } from './dto/session.dto';
import { TokenResponseDto } from './dto/token-response.dto';
import {
  IssuedAccessToken,
  parseRefreshToken,
  RefreshTokensService,
} from './refresh-tokens.service';
import { claimsFor, TokenVerifier } from './token-verifier';

const PASSWORD_LOGIN_HINT = 'password-login';

const invalidRefreshToken = (): UnauthenticatedError =>
  new UnauthenticatedError('invalid refresh token', 'INVALID_REFRESH_TOKEN');

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly verifier: TokenVerifier,
    private readonly jwt: JwtService,
    private readonly config: RelayConfig,
  ) {}

  /** Password login; unknown user and wrong password look alike (message and timing). */
  async login(username: string, password: string): Promise<TokenResponseDto> {
    const user = await this.users.verifyCredentials(username, password);
    if (!user)
      throw new UnauthenticatedError('Incorrect username or password', 'INVALID_CREDENTIALS');
    if (!user.isActive) throw new ForbiddenError('User account is inactive', 'USER_INACTIVE');
    const access = this.newAccessToken();
    const refresh = await this.refreshTokens.create(user.userId, null, PASSWORD_LOGIN_HINT, access);
    return this.respond(user, access, refresh.wire);
  }

  /**
   * Rotates a refresh token. A rotated token presented again (replay), or the loser of two
   * concurrent rotations, revokes the whole chain and every access token issued along it.
   */
  async refresh(wire: string): Promise<TokenResponseDto> {
    const parsed = parseRefreshToken(wire);
    const record = parsed && (await this.refreshTokens.find(parsed));
    if (!record) throw invalidRefreshToken();
    if (record.revoked) {
      if (record.revokedReason === 'rotated') {
        await this.refreshTokens.revokeChain(record, 'replay');
      }
      throw invalidRefreshToken();
    }
    if (this.refreshTokens.isExpired(record)) {
      await this.refreshTokens.mark(record.jti, 'expired');
      throw invalidRefreshToken();
    }
    const user = await this.users.findById(record.userId);
    if (!user || !user.isActive) {
      await this.refreshTokens.revokeSession(record, 'user_gone');
      throw new UnauthenticatedError('user not found', 'USER_NOT_FOUND', false);
    }
    // The successor is stored before the compare-and-set, so that a concurrent loser's chain
    // revocation always reaches it: the outcome of a race does not depend on timing.
    const access = this.newAccessToken();
    const child = await this.refreshTokens.create(
      user.userId,
      record.jti,
      record.clientHint,
      access,
    );
    if (!(await this.refreshTokens.claim(record.jti, 'rotated'))) {
      await this.refreshTokens.revokeChain(record, 'replay');
      throw invalidRefreshToken();
    }
    await this.refreshTokens.touch(record.jti);
    return this.respond(user, access, child.wire);
  }

  /**
   * `/auth/token/revoke`: a malformed token is a 400; an unknown token or wrong secret is
   * silently ignored (no oracle).
   */
  async revoke(wire: string, chain: boolean): Promise<void> {
    const parsed = parseRefreshToken(wire);
    if (!parsed) throw new BadRequestError('malformed refresh token', 'MALFORMED_REFRESH_TOKEN');
    const record = await this.refreshTokens.find(parsed);
    if (!record) return;
    if (chain) await this.refreshTokens.revokeChain(record, 'logout');
    else await this.refreshTokens.revokeSession(record, 'logout');
  }

  /** Deny-lists the caller's access token until it expires and tells live sockets. */
  async logout(caller: AuthUser): Promise<void> {
    if (!caller.jti) return;
    const ttl = Math.max(1, caller.exp - Math.floor(Date.now() / 1000));
    await this.verifier.revoke(caller.jti, caller.userId, ttl);
  }

  async listSessions(caller: AuthUser): Promise<SessionDto[]> {
    const records = await this.refreshTokens.listActive(caller.userId);
    return records.map((r) => ({
      jti: r.jti,
      issued_at: r.issuedAt,
      expires_at: r.expiresAt,
      last_used_at: r.lastUsedAt,
      client_hint: r.clientHint,
    }));
  }

  async revokeSession(caller: AuthUser, jti: string): Promise<void> {
    const record = await this.refreshTokens.get(jti);
    if (!record || record.userId !== caller.userId) {
      throw new NotFoundError('session not found', 'SESSION_NOT_FOUND');
    }
    await this.refreshTokens.revokeSession(record, 'logout');
  }

  private newAccessToken(): IssuedAccessToken {
    const iat = Math.floor(Date.now() / 1000);
    return {
      jti: randomUUID().replace(/-/g, ''),
      exp: iat + this.config.auth.accessTokenExpireMinutes * 60,
    };
  }

  private async respond(
    user: UserRecord,
    access: IssuedAccessToken,
    refreshToken: string,
  ): Promise<TokenResponseDto> {
    const expiresIn = this.config.auth.accessTokenExpireMinutes * 60;
    const accessToken = await this.jwt.signAsync({
      ...claimsFor(user),
      iat: access.exp - expiresIn,
      exp: access.exp,
      jti: access.jti,
    });
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: expiresIn,
      refresh_token: refreshToken,
      refresh_token_secondary: null,
    };
  }
}
