import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-error-responses';
import { NotFoundError } from '../common/errors';
import { UserPublicDto } from '../users/dto/user-public.dto';
import { UsersService } from '../users/users.service';
import { Authenticated, CurrentUser, Public } from './access.decorators';
import { LoginRateLimitGuard, RefreshRateLimitGuard } from './auth-rate-limit.guards';
import { AuthUser } from './auth-user';
import { AuthService } from './auth.service';
import { LoginDto } from './dto/login.dto';
import { RefreshTokenDto, RevokeTokenDto } from './dto/refresh-token.dto';
import { SessionDto } from './dto/session.dto';
import { TokenResponseDto } from './dto/token-response.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Post('login')
  @Public()
  @UseGuards(LoginRateLimitGuard)
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiBody({ type: LoginDto })
  @ApiOperation({
    summary: 'Exchange username and password for an access and a refresh token',
    description: 'OAuth2 password form, or JSON with the same fields. Rate limited.',
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiErrors(401, 403, 422, 429)
  login(@Body() body: LoginDto): Promise<TokenResponseDto> {
    return this.auth.login(body.username, body.password);
  }

  @Post('logout')
  @Authenticated()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke the access token of this request until it expires',
    description: 'Refresh tokens are untouched; use `/auth/token/revoke` for those.',
  })
  @ApiNoContentResponse({ description: 'Token revoked' })
  @ApiErrors(401, 403)
  logout(@CurrentUser() caller: AuthUser): Promise<void> {
    return this.auth.logout(caller);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'The authenticated user' })
  @ApiOkResponse({ type: UserPublicDto })
  @ApiErrors(401, 403)
  async me(@CurrentUser() caller: AuthUser): Promise<UserPublicDto> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new NotFoundError('User not found', 'USER_NOT_FOUND');
    return this.users.toView(user);
  }

  @Post('token/refresh')
  @Public()
  @UseGuards(RefreshRateLimitGuard)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Exchange a refresh token for new tokens (the refresh token rotates)',
    description:
      'Presenting an already rotated token again revokes its whole chain. Rate limited per IP.',
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiErrors(401, 422, 429)
  refresh(@Body() body: RefreshTokenDto): Promise<TokenResponseDto> {
    return this.auth.refresh(body.refresh_token);
  }

  @Post('token/revoke')
  @Public()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke a refresh token (or its whole chain) and its live access tokens',
    description: 'Unknown tokens are ignored (204) so that the answer reveals nothing.',
  })
  @ApiNoContentResponse({ description: 'Revoked, or unknown' })
  @ApiErrors(400, 422)
  revoke(@Body() body: RevokeTokenDto): Promise<void> {
    return this.auth.revoke(body.refresh_token, body.revoke_chain === true);
  }

  @Get('sessions')
  @Authenticated()
  @ApiOperation({ summary: "The caller's unrevoked refresh tokens" })
  @ApiOkResponse({ type: [SessionDto] })
  @ApiErrors(401, 403)
  sessions(@CurrentUser() caller: AuthUser): Promise<SessionDto[]> {
    return this.auth.listSessions(caller);
  }

  @Delete('sessions/:jti')
  @Authenticated()
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one of your sessions and its live access tokens' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors(401, 403, 404)
  revokeSession(@CurrentUser() caller: AuthUser, @Param('jti') jti: string): Promise<void> {
    return this.auth.revokeSession(caller, jti);
  }
}
