import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
} from 'class-validator';
import { Permission, PERMISSIONS } from '../../storage/ports';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;

/** `POST /auth/register` (upstream `UserCreate`; unknown keys are ignored). */
export class CreateUserDto {
  @ApiProperty({ minLength: 3, maxLength: 50, example: 'alice' })
  @IsString()
  @MinLength(3)
  @MaxLength(50)
  username!: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'alice@example.com' })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string | null;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password!: string;

  @ApiPropertyOptional({ enum: PERMISSIONS, isArray: true, default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(PERMISSIONS.length * 2)
  @IsIn(PERMISSIONS, { each: true })
  permissions?: Permission[];
}
