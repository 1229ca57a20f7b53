import { ConflictError, RequestValidationError, StorageUnavailableError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { MemoryKeyValueStore } from '../storage/memory/memory-stores';
import { IdempotencyService } from './idempotency.service';

function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('IdempotencyService', () => {
  let kv: MemoryKeyValueStore;
  let sut: IdempotencyService;

  beforeEach(() => {
    kv = new MemoryKeyValueStore();
    sut = new IdempotencyService(kv, { storage: { idempotencyWindow: 600 } } as RelayConfig);
  });

  it('runs the work once per key and replays the recorded result', async () => {
    let runs = 0;
    const work = async (): Promise<{ id: number }> => ({ id: ++runs });
    expect(await sut.run('u1', 'k', work)).toEqual({ id: 1 });
    expect(await sut.run('u1', 'k', work)).toEqual({ id: 1 });
    expect(runs).toBe(1);
  });

  it('scopes keys: another scope or no key runs again', async () => {
    let runs = 0;
    const work = async (): Promise<{ id: number }> => ({ id: ++runs });
    await sut.run('u1', 'k', work);
    expect(await sut.run('u2', 'k', work)).toEqual({ id: 2 });
    expect(await sut.run('u1', undefined, work)).toEqual({ id: 3 });
    expect(await sut.run('u1', undefined, work)).toEqual({ id: 4 });
  });

  it('makes a concurrent duplicate wait for the first and get its result', async () => {
    const gate = deferred<{ id: number }>();
    let runs = 0;
    const first = sut.run('u', 'k', () => {
      runs++;
      return gate.promise;
    });
    const second = sut.run('u', 'k', async () => ({ id: ++runs + 100 }));
    await new Promise((r) => setTimeout(r, 20));
    gate.resolve({ id: 1 });
    expect(await Promise.all([first, second])).toEqual([{ id: 1 }, { id: 1 }]);
    expect(runs).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_IN_FLIGHT when the first takes longer than the wait', async () => {
    sut.inFlightWaitMs = 50;
    const gate = deferred<{ id: number }>();
    const first = sut.run('u', 'k', () => gate.promise);
    const second = sut.run('u', 'k', async () => ({ id: 2 }));
    await expect(second).rejects.toEqual(
      expect.objectContaining({ status: 409, code: 'IDEMPOTENCY_IN_FLIGHT' }),
    );
    await expect(second).rejects.toBeInstanceOf(ConflictError);
    gate.resolve({ id: 1 });
    await first;
  });

  it('releases the key when the first attempt fails, so a retry runs', async () => {
    await expect(
      sut.run('u', 'k', async () => {
        throw new StorageUnavailableError();
      }),
    ).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(await sut.run('u', 'k', async () => ({ id: 2 }))).toEqual({ id: 2 });
  });

  it('lets a waiting duplicate run its own work when the first fails', async () => {
    const gate = deferred<{ id: number }>();
    const first = sut.run('u', 'k', () => gate.promise);
    const second = sut.run('u', 'k', async () => ({ id: 2 }));
    await new Promise((r) => setTimeout(r, 20));
    gate.reject(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    expect(await second).toEqual({ id: 2 });
  });

  it('waits by polling when the claim belongs to another instance', async () => {
    await kv.setIfAbsent('idem:u:k', '\u0000in-flight', 30);
    const second = sut.run('u', 'k', async () => ({ id: 2 }));
    await new Promise((r) => setTimeout(r, 30));
    await kv.set('idem:u:k', JSON.stringify({ id: 1 }), 600);
    expect(await second).toEqual({ id: 1 });
  });

  it('validates the header value', () => {
    expect(IdempotencyService.normalizeKey(undefined)).toBeUndefined();
    expect(IdempotencyService.normalizeKey('')).toBeUndefined();
    expect(IdempotencyService.normalizeKey('abc')).toBe('abc');
    expect(() => IdempotencyService.normalizeKey('x'.repeat(256))).toThrow(RequestValidationError);
  });
});
