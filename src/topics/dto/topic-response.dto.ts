import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** `TopicPublic`. */
export class TopicResponseDto {
  @ApiProperty({ format: 'uuid' })
  topic_id!: string;

  @ApiProperty()
  topic_name!: string;

  @ApiProperty()
  owner_id!: string;

  @ApiProperty()
  is_public!: boolean;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty({ example: '2026-05-15T09:13:02.123Z' })
  created_at!: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'Users holding a grant; shown to the owner and admins only',
  })
  allowed_user_ids?: string[];
}

export class TopicStatsResponseDto {
  @ApiProperty()
  total_topics!: number;

  @ApiProperty()
  public_topics!: number;

  @ApiProperty({ description: 'Retained messages over all topics' })
  total_messages!: number;
}
