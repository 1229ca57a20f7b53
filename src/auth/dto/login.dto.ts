import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** OAuth2 password form fields; accepted as form or JSON. */
export class LoginDto {
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  username!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password!: string;

  @IsOptional()
  @Matches(/^password$/)
  grant_type?: string;

  @IsOptional()
  @IsString()
  scope?: string;

  @IsOptional()
  @IsString()
  client_id?: string;

  @IsOptional()
  @IsString()
  client_secret?: string;
}
