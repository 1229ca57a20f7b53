import {
  ArrayMinSize,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
} from 'class-validator';
import { IsTopicName } from '../../../common/topic-name';

export const DEFAULT_POLL_TIMEOUT_SECONDS = 30;

export class PollRequestDto {
  /**
   * Topics to wait on (1 to `limits.poll_max_topics`, default 20). Each must exist and be
   * readable by the caller, otherwise the whole request is answered 404.
   * @example ["jobs"]
   */
  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true })
  @IsTopicName(true)
  topics!: string[];

  /**
   * Last message id seen per topic: those topics are caught up strictly after it. Topics without
   * an entry get only messages published after the request arrived.
   * @example {"jobs": "1715764382123-0"}
   */
  @IsOptional()
  @IsObject()
  since?: Record<string, string> | null;

  /**
   * Seconds to wait when nothing is pending (integer, 1-60).
   * @example 30
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(60)
  timeout?: number;
}
