import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TOPIC_NAME_PATTERN } from '../../common/topic-name';
import { MAX_TTL_SECONDS } from '../message-input';

/**
 * Documentation of the publish bodies. They are validated by `message-input.ts` (one pass on the
 * hot path), which enforces exactly these rules.
 */
export class PublishMessageDto {
  @ApiProperty({ pattern: TOPIC_NAME_PATTERN.source, minLength: 1, maxLength: 255 })
  topic!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Any JSON object; with metadata at most `max_message_size` bytes of JSON',
  })
  payload!: Record<string, unknown>;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_TTL_SECONDS,
    description: 'Seconds after which the message is never delivered or replayed',
  })
  ttl?: number;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  metadata?: Record<string, string>;
}

export class BulkPublishDto {
  @ApiProperty({
    type: [PublishMessageDto],
    minItems: 1,
    description: 'Between 1 and `max_bulk_messages` (default 100) messages',
  })
  messages!: PublishMessageDto[];
}

export class PublishResponseDto {
  @ApiProperty({ example: '1715764382123-0' })
  message_id!: string;

  @ApiProperty()
  topic!: string;

  @ApiProperty({ example: '2026-05-15T09:13:02.123Z' })
  timestamp!: string;
}

export class BulkItemResultDto {
  @ApiProperty({ type: String, nullable: true })
  message_id!: string | null;

  @ApiProperty()
  topic!: string;

  @ApiProperty({ enum: ['accepted', 'rejected'] })
  status!: 'accepted' | 'rejected';

  @ApiProperty({ type: String, nullable: true })
  error!: string | null;
}

export class BulkSummaryDto {
  @ApiProperty()
  total!: number;

  @ApiProperty()
  accepted!: number;

  @ApiProperty()
  rejected!: number;
}

export class BulkPublishResponseDto {
  @ApiProperty({ type: [BulkItemResultDto] })
  results!: BulkItemResultDto[];

  @ApiProperty({ type: BulkSummaryDto })
  summary!: BulkSummaryDto;
}
