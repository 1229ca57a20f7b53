import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { RelayConfig } from '../config/relay-config';
import { ForbiddenError, UnauthenticatedError } from '../common/errors';
import { UserRecord } from '../storage/ports';
import { UsersService } from '../users/users.service';
import { TokenResponseDto } from './dto/token-response.dto';
import { claimsFor } from './token-verifier';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly jwt: JwtService,
    private readonly config: RelayConfig,
  ) {}

  async login(username: string, password: string): Promise<TokenResponseDto> {
    const user = await this.users.verifyCredentials(username, password);
    if (!user)
      throw new UnauthenticatedError('Incorrect username or password', 'INVALID_CREDENTIALS');
    if (!user.isActive) throw new ForbiddenError('User account is inactive', 'USER_INACTIVE');
    return this.issue(user, null);
  }

  async issue(user: UserRecord, refreshToken: string | null): Promise<TokenResponseDto> {
    const expiresIn = this.config.auth.accessTokenExpireMinutes * 60;
    const accessToken = await this.jwt.signAsync(
      { ...claimsFor(user), jti: randomUUID().replace(/-/g, '') },
      { expiresIn },
    );
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: expiresIn,
      refresh_token: refreshToken,
      refresh_token_secondary: null,
    };
  }
}
