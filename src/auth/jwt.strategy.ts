import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { RelayConfig } from '../config/relay-config';
import { AuthUser } from './auth-user';
import { jwtSecretKey } from './jwt-key';
import { JWT_ALGORITHM, TokenVerifier } from './token-verifier';

/** passport-jwt verifies signature and expiry; the shared TokenVerifier does the rest. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: RelayConfig,
    private readonly verifier: TokenVerifier,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt hands the key to jsonwebtoken, which accepts a KeyObject (its types say string).
      secretOrKey: jwtSecretKey(config.auth.jwtSecretKey) as unknown as string,
      algorithms: [JWT_ALGORITHM],
      ignoreExpiration: false,
    });
  }

  validate(payload: unknown): Promise<AuthUser> {
    return this.verifier.resolve(payload);
  }
}
