import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, RequirePermission } from '../auth/access.decorators';
import { AuthUser } from '../auth/auth-user';
import { BadRequestError } from '../common/errors';
import { ApiErrors } from '../common/decorators/api-error-responses';
import { CreateUserDto } from './dto/create-user.dto';
import { UpdateUserDto } from './dto/update-user.dto';
import { UserPublicDto, UserStatsDto } from './dto/user-public.dto';
import { UsersService } from './users.service';

/** User administration (admin only), under `/auth` as upstream. */
@ApiTags('users')
@Controller('auth')
@RequirePermission('admin')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post('register')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a user (admin)' })
  @ApiCreatedResponse({ type: UserPublicDto })
  @ApiErrors(400, 401, 403, 422)
  async register(@Body() body: CreateUserDto): Promise<UserPublicDto> {
    const user = await this.users.create({
      username: body.username,
      password: body.password,
      email: body.email ?? null,
      permissions: body.permissions ?? [],
    });
    return this.users.toView(user);
  }

  @Get('users')
  @ApiOperation({ summary: 'List every user (admin)' })
  @ApiOkResponse({ type: [UserPublicDto] })
  @ApiErrors(401, 403)
  async list(): Promise<UserPublicDto[]> {
    const users = await this.users.list();
    return Promise.all(users.map((user) => this.users.toView(user)));
  }

  @Get('users/stats')
  @ApiOperation({ summary: 'Count users, and active users (admin)' })
  @ApiOkResponse({ type: UserStatsDto })
  @ApiErrors(401, 403)
  stats(): Promise<UserStatsDto> {
    return this.users.stats();
  }

  @Patch('users/:user_id')
  @ApiOperation({
    summary: 'Change e-mail, password, permissions or active flag (admin)',
    description: 'Only the fields present are applied; takes effect on the next request.',
  })
  @ApiOkResponse({ type: UserPublicDto })
  @ApiErrors(401, 403, 404, 422)
  async update(
    @Param('user_id') userId: string,
    @Body() body: UpdateUserDto,
  ): Promise<UserPublicDto> {
    const user = await this.users.update(userId, {
      email: body.email,
      password: body.password,
      permissions: body.permissions,
      isActive: body.is_active,
    });
    return this.users.toView(user);
  }

  @Delete('users/:user_id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user other than yourself (admin)' })
  @ApiNoContentResponse({ description: 'Deleted; its refresh tokens are revoked' })
  @ApiErrors(400, 401, 403, 404)
  async remove(@Param('user_id') userId: string, @CurrentUser() caller: AuthUser): Promise<void> {
    if (userId === caller.userId) {
      throw new BadRequestError('Cannot delete your own user account', 'CANNOT_DELETE_SELF');
    }
    await this.users.delete(userId);
  }
}
