import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, MaxLength } from 'class-validator';

export type PageOrder = 'asc' | 'desc';

/** Range and order checks happen in the service (after the access check), as upstream answers 400. */
export class MessagePageQueryDto {
  @ApiPropertyOptional({ default: 10, minimum: 1, description: 'Values above 100 are capped' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  limit?: number;

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptional()
  @IsString()
  order?: string;

  @ApiPropertyOptional({
    description: 'Exclusive message-id bound: asc ⇒ after it, desc ⇒ before it',
    example: '1715764382123-0',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  cursor?: string;
}

export class PagedMessageDto {
  @ApiProperty({ example: '1715764382123-0' })
  message_id!: string;

  @ApiProperty()
  topic!: string;

  @ApiProperty({ type: 'object', additionalProperties: true })
  payload!: Record<string, unknown>;

  @ApiProperty({ example: '2026-05-15T09:13:02.123Z' })
  timestamp!: string;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  metadata!: Record<string, string>;
}

export class MessagePageResponseDto {
  @ApiProperty({ type: [PagedMessageDto] })
  messages!: PagedMessageDto[];

  @ApiProperty({ description: 'Number of messages in this page' })
  total!: number;

  @ApiProperty({ description: 'Effective page size (at most 100)' })
  limit!: number;

  @ApiProperty({ enum: ['asc', 'desc'] })
  order!: PageOrder;

  @ApiProperty({ type: String, nullable: true })
  cursor!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Id of the last message of this page (null when the page is empty)',
  })
  next_cursor!: string | null;
}
