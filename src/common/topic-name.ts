import { applyDecorators } from '@nestjs/common';
import { Matches } from 'class-validator';

export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
export const TOPIC_NAME_MESSAGE =
  'Topic must be 1-255 characters of letters, digits, hyphens and underscores';

export function isTopicName(value: unknown): value is string {
  return typeof value === 'string' && TOPIC_NAME_PATTERN.test(value);
}

/** class-validator rule for topic names in bodies. */
export function IsTopicName(each = false): PropertyDecorator {
  return applyDecorators(Matches(TOPIC_NAME_PATTERN, { message: TOPIC_NAME_MESSAGE, each }));
}
