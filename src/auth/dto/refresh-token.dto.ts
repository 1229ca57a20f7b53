import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';

const REFRESH_TOKEN_MAX_LENGTH = 512;

/** `POST /auth/token/refresh`. */
export class RefreshTokenDto {
  @ApiProperty({ description: 'The `{jti}.{secret}` token from login or the last refresh' })
  @IsString()
  @MaxLength(REFRESH_TOKEN_MAX_LENGTH)
  refresh_token!: string;
}

/** `POST /auth/token/revoke`. */
export class RevokeTokenDto {
  @ApiProperty({ description: 'The `{jti}.{secret}` token to revoke' })
  @IsString()
  @MaxLength(REFRESH_TOKEN_MAX_LENGTH)
  refresh_token!: string;

  @ApiPropertyOptional({
    default: false,
    description: 'Also revoke every token of its rotation chain',
  })
  @IsOptional()
  @IsBoolean()
  revoke_chain?: boolean;
}
