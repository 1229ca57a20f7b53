import { ApiProperty } from '@nestjs/swagger';

/** One live refresh token (a "session") of the caller. */
export class SessionDto {
  @ApiProperty({ format: 'uuid' })
  jti!: string;

  @ApiProperty({ format: 'date-time' })
  issued_at!: string;

  @ApiProperty({ format: 'date-time' })
  expires_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_used_at!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'password-login' })
  client_hint!: string | null;
}
