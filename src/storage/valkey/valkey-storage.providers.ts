import { Provider } from '@nestjs/common';

/** Providers of the Valkey/Redis Streams driver (ioredis), standalone or cluster. */
export function valkeyStorageProviders(): Provider[] {
  throw new Error('The valkey storage backend is not implemented yet');
}
