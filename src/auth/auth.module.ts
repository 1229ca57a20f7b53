import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { jwtSecretKey } from './jwt-key';
import { PassportModule } from '@nestjs/passport';
import { RelayConfig } from '../config/relay-config';
import { UsersModule } from '../users/users.module';
import { AccessGuard } from './access.guard';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { BearerAuth } from './bearer-auth';
import { JwtStrategy } from './jwt.strategy';
import { RefreshTokensService } from './refresh-tokens.service';
import { JWT_ALGORITHM, TokenVerifier } from './token-verifier';

@Module({
  imports: [
    UsersModule,
    PassportModule,
    JwtModule.registerAsync({
      inject: [RelayConfig],
      useFactory: (config: RelayConfig) => ({
        // @nestjs/jwt passes the key through to jsonwebtoken, which accepts a KeyObject.
        secret: jwtSecretKey(config.auth.jwtSecretKey) as unknown as string,
        signOptions: { algorithm: JWT_ALGORITHM },
        verifyOptions: { algorithms: [JWT_ALGORITHM] },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    RefreshTokensService,
    TokenVerifier,
    BearerAuth,
    JwtStrategy,
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [AuthService, TokenVerifier, BearerAuth],
})
export class AuthModule {}
