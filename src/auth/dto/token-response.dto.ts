export class TokenResponseDto {
  access_token!: string;
  /** Always `bearer`. */
  token_type!: 'bearer';
  /** Seconds until the access token expires. */
  expires_in!: number;
  /** Opaque `{jti}.{secret}`; exchange at `/auth/token/refresh`. */
  refresh_token!: string | null;
  refresh_token_secondary!: string | null;
}
