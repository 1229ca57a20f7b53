import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
} from 'class-validator';
import { TopicPermission } from '../../storage/ports';

export const TOPIC_PERMISSIONS: readonly TopicPermission[] = ['read', 'write'];

/** Grant by `user_id` or by `username` (one of them is required). */
export class GrantPermissionDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  user_id?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  username?: string | null;

  @ApiPropertyOptional({ enum: TOPIC_PERMISSIONS, isArray: true, default: ['read'] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(2)
  @IsIn(TOPIC_PERMISSIONS, { each: true })
  permissions?: TopicPermission[] | null;
}

export class TopicPermissionResponseDto {
  @ApiProperty()
  topic_name!: string;

  @ApiProperty()
  user_id!: string;

  @ApiProperty({ type: String, nullable: true, description: 'null when the user was deleted' })
  username!: string | null;

  @ApiProperty({ enum: TOPIC_PERMISSIONS, isArray: true })
  permissions!: TopicPermission[];

  @ApiProperty({ example: '2026-05-15T09:13:02.123Z' })
  granted_at!: string;
}
