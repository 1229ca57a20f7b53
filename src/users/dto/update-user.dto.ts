import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { Permission, PERMISSIONS } from '../../storage/ports';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './create-user.dto';

const present = (_dto: object, value: unknown): boolean => value !== undefined;

/**
 * `PATCH /auth/users/{user_id}`: only the keys present are applied; `"email": null` clears the
 * e-mail, while `null` for the other fields is a validation error.
 */
export class UpdateUserDto {
  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string | null;

  @ApiPropertyOptional({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH })
  @ValidateIf(present)
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password?: string;

  @ApiPropertyOptional({ enum: PERMISSIONS, isArray: true })
  @ValidateIf(present)
  @IsArray()
  @ArrayMaxSize(PERMISSIONS.length * 2)
  @IsIn(PERMISSIONS, { each: true })
  permissions?: Permission[];

  @ApiPropertyOptional()
  @ValidateIf(present)
  @IsBoolean()
  is_active?: boolean;
}
