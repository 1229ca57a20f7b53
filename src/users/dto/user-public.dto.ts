import { ApiProperty } from '@nestjs/swagger';
import { Permission, PERMISSIONS } from '../../storage/ports';

/** A user as shown on the wire (never the password hash). */
export class UserPublicDto {
  @ApiProperty({ format: 'uuid' })
  user_id!: string;

  @ApiProperty({ example: 'alice' })
  username!: string;

  @ApiProperty({ type: String, nullable: true, example: 'alice@example.com' })
  email!: string | null;

  @ApiProperty()
  is_active!: boolean;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ enum: PERMISSIONS, isArray: true, example: ['read', 'write'] })
  permissions!: Permission[];

  /** Names of the topics this user created. */
  @ApiProperty({ type: [String] })
  owned_topics!: string[];
}

export class UserStatsDto {
  @ApiProperty({ example: 12 })
  total_users!: number;

  @ApiProperty({ example: 11 })
  active_users!: number;
}
