import { StorageUnavailableError } from '../../common/errors';

/**
 * Replies meaning "the data is fine, the server just cannot answer now" (MOVED and ASK reach us
 * only when the cluster client gave up following a slot in flux).
 */
const TRANSIENT_REPLIES =
  /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|MISCONF|MOVED|ASK)\b/;

function isProgrammingError(err: Error): boolean {
  return err instanceof TypeError || err instanceof SyntaxError || err instanceof RangeError;
}

/**
 * Maps a failure of the Valkey client to the error callers see: connection loss, timeouts and
 * transient server states become `StorageUnavailableError` (503); other reply errors and errors
 * of our own code are bugs and are rethrown as they are.
 */
export function toStorageError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof StorageUnavailableError) return err;
  if (err.name === 'ReplyError') {
    return TRANSIENT_REPLIES.test(err.message) ? new StorageUnavailableError() : err;
  }
  return isProgrammingError(err) ? err : new StorageUnavailableError();
}

/** Runs a storage call, translating client failures with `toStorageError`. */
export async function storageCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toStorageError(err);
  }
}
