import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-error-responses';
import { UsersService, UserView } from '../users/users.service';
import { Authenticated, CurrentUser, Public } from './access.decorators';
import { AuthUser } from './auth-user';
import { AuthService } from './auth.service';
import { LoginDto } from './dto/login.dto';
import { TokenResponseDto } from './dto/token-response.dto';
import { NotFoundError } from '../common/errors';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiOperation({ summary: 'Exchange username and password for an access and a refresh token' })
  @ApiErrors(401, 403, 422, 429)
  login(@Body() body: LoginDto): Promise<TokenResponseDto> {
    return this.auth.login(body.username, body.password);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'The authenticated user' })
  @ApiErrors(401, 403)
  async me(@CurrentUser() caller: AuthUser): Promise<UserView> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new NotFoundError('User not found', 'USER_NOT_FOUND');
    return this.users.toView(user);
  }
}
