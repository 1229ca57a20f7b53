import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { IsTopicName, TOPIC_NAME_PATTERN } from '../../common/topic-name';

/** `{topic_name}` path parameter, validated like names in bodies (invalid ⇒ 422, loc `path`). */
export class TopicParamsDto {
  @ApiProperty({ pattern: TOPIC_NAME_PATTERN.source, example: 'notifications' })
  @IsString()
  @IsTopicName()
  topic_name!: string;
}

export class TopicUserParamsDto extends TopicParamsDto {
  @ApiProperty({ description: 'Id of the user whose grant is revoked' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  user_id!: string;
}
