import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** OAuth2 password form fields; accepted as form or JSON. */
export class LoginDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  username!: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password!: string;

  @ApiPropertyOptional({ pattern: '^password$' })
  @IsOptional()
  @Matches(/^password$/)
  grant_type?: string;

  @ApiPropertyOptional({ description: 'Ignored' })
  @IsOptional()
  @IsString()
  scope?: string;

  @ApiPropertyOptional({ description: 'Ignored' })
  @IsOptional()
  @IsString()
  client_id?: string;

  @ApiPropertyOptional({ description: 'Ignored' })
  @IsOptional()
  @IsString()
  client_secret?: string;
}
