import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser, RequirePermission } from '../auth/access.decorators';
import { AuthUser } from '../auth/auth-user';
import { ApiErrors } from '../common/decorators/api-error-responses';
import { CreateTopicDto, UpdateTopicDto } from './dto/create-topic.dto';
import { GrantPermissionDto, TopicPermissionResponseDto } from './dto/grant-permission.dto';
import { MessagePageQueryDto, MessagePageResponseDto } from './dto/message-page.dto';
import { TopicParamsDto, TopicUserParamsDto } from './dto/topic-params.dto';
import { TopicResponseDto, TopicStatsResponseDto } from './dto/topic-response.dto';
import {
  MessagePageView,
  TopicPermissionView,
  TopicStatsView,
  TopicView,
  TopicsService,
} from './topics.service';

@ApiTags('topics')
@Controller('api/v1/topics')
export class TopicsController {
  constructor(private readonly topics: TopicsService) {}

  @Post()
  @RequirePermission('write')
  @ApiOperation({ summary: 'Create a topic owned by the caller (needs `write`)' })
  @ApiResponse({ status: 201, type: TopicResponseDto })
  @ApiErrors(400, 401, 403, 422)
  create(@CurrentUser() user: AuthUser, @Body() body: CreateTopicDto): Promise<TopicView> {
    return this.topics.create(user, {
      name: body.topic_name,
      description: body.description,
      isPublic: body.is_public,
    });
  }

  @Get()
  @Authenticated()
  @ApiOperation({ summary: 'Topics the caller owns, is granted, or that are public (admin: all)' })
  @ApiOkResponse({ type: [TopicResponseDto] })
  @ApiErrors(401, 403)
  list(@CurrentUser() user: AuthUser): Promise<TopicView[]> {
    return this.topics.list(user);
  }

  // Declared before `:topic_name` so that it is not shadowed by a topic named "stats".
  @Get('stats')
  @RequirePermission('admin')
  @ApiOperation({ summary: 'Topic and message counts (admin)' })
  @ApiOkResponse({ type: TopicStatsResponseDto })
  @ApiErrors(401, 403)
  stats(): Promise<TopicStatsView> {
    return this.topics.stats();
  }

  @Get(':topic_name')
  @Authenticated()
  @ApiOperation({ summary: 'A topic the caller may read' })
  @ApiOkResponse({ type: TopicResponseDto })
  @ApiErrors(401, 403, 404, 422)
  get(@CurrentUser() user: AuthUser, @Param() params: TopicParamsDto): Promise<TopicView> {
    return this.topics.get(user, params.topic_name);
  }

  @Put(':topic_name')
  @Authenticated()
  @ApiOperation({ summary: 'Change the description or the public flag (owner or admin)' })
  @ApiOkResponse({ type: TopicResponseDto })
  @ApiErrors(401, 403, 404, 422)
  update(
    @CurrentUser() user: AuthUser,
    @Param() params: TopicParamsDto,
    @Body() body: UpdateTopicDto,
  ): Promise<TopicView> {
    return this.topics.update(user, params.topic_name, {
      description: body.description,
      isPublic: body.is_public,
    });
  }

  @Delete(':topic_name')
  @Authenticated()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a topic with its messages and grants; live subscriptions end (owner or admin)',
  })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(401, 403, 404, 422)
  async delete(@CurrentUser() user: AuthUser, @Param() params: TopicParamsDto): Promise<void> {
    await this.topics.delete(user, params.topic_name);
  }

  @Get(':topic_name/messages')
  @Authenticated()
  @ApiOperation({
    summary: 'Page through stored messages (needs read access to the topic, no global permission)',
  })
  @ApiOkResponse({ type: MessagePageResponseDto })
  @ApiErrors(400, 401, 403, 404, 422)
  page(
    @CurrentUser() user: AuthUser,
    @Param() params: TopicParamsDto,
    @Query() query: MessagePageQueryDto,
  ): Promise<MessagePageView> {
    return this.topics.page(user, params.topic_name, query);
  }

  @Post(':topic_name/permissions')
  @Authenticated()
  @ApiOperation({ summary: 'Grant a user read and/or write access (owner or admin)' })
  @ApiResponse({ status: 201, type: TopicPermissionResponseDto })
  @ApiErrors(400, 401, 403, 404, 422)
  grant(
    @CurrentUser() user: AuthUser,
    @Param() params: TopicParamsDto,
    @Body() body: GrantPermissionDto,
  ): Promise<TopicPermissionView> {
    return this.topics.grant(user, params.topic_name, {
      userId: body.user_id,
      username: body.username,
      permissions: body.permissions,
    });
  }

  @Get(':topic_name/permissions')
  @Authenticated()
  @ApiOperation({ summary: 'List the grants of a topic (owner or admin)' })
  @ApiOkResponse({ type: [TopicPermissionResponseDto] })
  @ApiErrors(401, 403, 404, 422)
  listGrants(
    @CurrentUser() user: AuthUser,
    @Param() params: TopicParamsDto,
  ): Promise<TopicPermissionView[]> {
    return this.topics.listGrants(user, params.topic_name);
  }

  @Delete(':topic_name/permissions/:user_id')
  @Authenticated()
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a grant; takes effect at once on live connections' })
  @ApiResponse({ status: 204, description: 'Revoked' })
  @ApiErrors(401, 403, 404, 422)
  async revoke(@CurrentUser() user: AuthUser, @Param() params: TopicUserParamsDto): Promise<void> {
    await this.topics.revoke(user, params.topic_name, params.user_id);
  }
}
