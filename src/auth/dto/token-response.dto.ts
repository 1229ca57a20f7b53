import { ApiProperty } from '@nestjs/swagger';

export class TokenResponseDto {
  @ApiProperty({ description: 'HS256 JWT; send as `Authorization: Bearer <token>`' })
  access_token!: string;

  @ApiProperty({ enum: ['bearer'] })
  token_type!: 'bearer';

  @ApiProperty({ description: 'Seconds until the access token expires', example: 3600 })
  expires_in!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Opaque `{jti}.{secret}`; exchange at `/auth/token/refresh` (rotates on use)',
  })
  refresh_token!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Always null in this version' })
  refresh_token_secondary!: string | null;
}
