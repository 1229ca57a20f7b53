import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

export class ErrorResponseDto {
  @ApiProperty({ example: 'Topic not found' })
  detail!: string;

  @ApiProperty({ example: 'TOPIC_NOT_FOUND' })
  code!: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request',
  401: 'Missing, invalid, expired or revoked token',
  403: 'Inactive user, missing permission, or access denied',
  404: 'Not found (or not visible to the caller)',
  409: 'Conflict',
  413: 'Body or message too large',
  422: 'Validation error (detail is a list of {loc, msg, type})',
  429: 'Rate limited (see Retry-After)',
  503: 'Storage unavailable',
};

/** Documents the contract's error responses on a route. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ErrorResponseDto }),
    ),
  );
}
