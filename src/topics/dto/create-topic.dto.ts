import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsTopicName, TOPIC_NAME_PATTERN } from '../../common/topic-name';

export class CreateTopicDto {
  @ApiProperty({ pattern: TOPIC_NAME_PATTERN.source, minLength: 1, maxLength: 255 })
  @IsString()
  @IsTopicName()
  topic_name!: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({ default: false, description: 'Readable by every user with `read`' })
  @IsOptional()
  @IsBoolean()
  is_public?: boolean | null;
}

/** Absent or null fields stay unchanged; an empty description clears it. */
export class UpdateTopicDto {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  is_public?: boolean | null;
}
