import { ConflictError, RequestValidationError, StorageUnavailableError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { MemoryKeyValueStore } from '../storage/memory/memory-stores';
import { bulkMarker, IdempotencyService, singleMarker } from './idempotency.service';

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

  describe('a claim still in flight after the wait', () => {
    const claim = (since: number): string => JSON.stringify({ state: 'in_flight', since });

    beforeEach(() => {
      sut.inFlightWaitMs = 30;
    });

    it('claims with {state, since} and keeps the response for the window', async () => {
      const setIfAbsent = jest.spyOn(kv, 'setIfAbsent');
      const set = jest.spyOn(kv, 'set');
      sut.clock = () => 12_345;
      await sut.run('u', 'k', async () => {
        expect(JSON.parse((await kv.get('idem:u:k')) ?? 'null')).toEqual({
          state: 'in_flight',
          since: 12_345,
        });
        return { id: 1 };
      });
      expect(setIfAbsent).toHaveBeenCalledWith('idem:u:k', claim(12_345), 30);
      expect(set).toHaveBeenCalledWith('idem:u:k', JSON.stringify({ id: 1 }), 600);
    });

    it('answers what the markers show, and records it', async () => {
      await kv.setIfAbsent('idem:u:k', claim(Date.now()), 30);
      const work = jest.fn(async () => ({ id: 2 }));
      const recover = jest.fn(async () => ({ id: 1 }));
      expect(await sut.run('u', 'k', work, recover)).toEqual({ id: 1 });
      expect(recover).toHaveBeenCalledTimes(1);
      expect(await kv.get('idem:u:k')).toBe(JSON.stringify({ id: 1 }));
      expect(await sut.run('u', 'k', work, recover)).toEqual({ id: 1 });
      expect(recover).toHaveBeenCalledTimes(1);
      expect(work).not.toHaveBeenCalled();
    });

    it('does not consult the markers while the first may still finish', async () => {
      sut.inFlightWaitMs = 1_000;
      await kv.setIfAbsent('idem:u:k', claim(Date.now()), 30);
      const recover = jest.fn(async () => ({ id: 9 }));
      const second = sut.run('u', 'k', async () => ({ id: 2 }), recover);
      await new Promise((r) => setTimeout(r, 50));
      await kv.set('idem:u:k', JSON.stringify({ id: 1 }), 600);
      expect(await second).toEqual({ id: 1 });
      expect(recover).not.toHaveBeenCalled();
    });

    it('answers 409 when nothing was stored and the claim is fresh', async () => {
      await kv.setIfAbsent('idem:u:k', claim(Date.now() - 29_000), 30);
      const work = jest.fn(async () => ({ id: 2 }));
      await expect(sut.run('u', 'k', work, async () => null)).rejects.toEqual(
        expect.objectContaining({ status: 409, code: 'IDEMPOTENCY_IN_FLIGHT' }),
      );
      expect(work).not.toHaveBeenCalled();
    });

    it('answers 409 for a claim of unknown age (older versions), which expires on its own', async () => {
      await kv.setIfAbsent('idem:u:k', '\u0000in-flight', 30);
      sut.clock = () => Date.now() + 3_600_000;
      await expect(
        sut.run(
          'u',
          'k',
          async () => ({ id: 2 }),
          async () => null,
        ),
      ).rejects.toEqual(expect.objectContaining({ code: 'IDEMPOTENCY_IN_FLIGHT' }));
    });

    it('takes a stale claim over when nothing was stored, and runs the work', async () => {
      await kv.setIfAbsent('idem:u:k', claim(Date.now() - 30_000), 3_600);
      const work = jest.fn(async () => ({ id: 2 }));
      expect(await sut.run('u', 'k', work, async () => null)).toEqual({ id: 2 });
      expect(work).toHaveBeenCalledTimes(1);
      expect(await kv.get('idem:u:k')).toBe(JSON.stringify({ id: 2 }));
    });

    it('makes a duplicate arriving after a takeover wait for the new owner', async () => {
      await kv.setIfAbsent('idem:u:k', claim(Date.now() - 60_000), 3_600);
      sut.inFlightWaitMs = 0;
      const gate = deferred<{ id: number }>();
      let runs = 0;
      const work = (): Promise<{ id: number }> => {
        runs++;
        return gate.promise;
      };
      const first = sut.run('u', 'k', work, async () => null);
      await new Promise((r) => setTimeout(r, 10));
      sut.inFlightWaitMs = 1_000;
      const second = sut.run('u', 'k', work, async () => null);
      await new Promise((r) => setTimeout(r, 10));
      gate.resolve({ id: 1 });
      expect(await Promise.all([first, second])).toEqual([{ id: 1 }, { id: 1 }]);
      expect(runs).toBe(1);
    });

    it('still answers when the recovered response cannot be recorded', async () => {
      await kv.setIfAbsent('idem:u:k', claim(Date.now()), 30);
      jest.spyOn(kv, 'set').mockRejectedValueOnce(new StorageUnavailableError());
      expect(
        await sut.run(
          'u',
          'k',
          async () => ({ id: 2 }),
          async () => ({ id: 1 }),
        ),
      ).toEqual({
        id: 1,
      });
    });
  });

  it('builds bounded markers, distinct for single and bulk', () => {
    expect(singleMarker('u1', 'order-42')).toBe('u1:order-42');
    expect(bulkMarker('u1', 'order-42', 3)).toBe('u1:order-42#3');
    const long = singleMarker('u1', 'x'.repeat(255));
    expect(long).toMatch(/^u1:sha256:[0-9a-f]{64}$/);
    // A key that looks like a bulk marker is hashed, so it cannot collide with one.
    expect(singleMarker('u1', 'order-42#3')).not.toBe(bulkMarker('u1', 'order-42', 3));
    expect(singleMarker('u1', 'a:b')).toMatch(/^u1:sha256:/);
  });

  it('validates the header value', () => {
    expect(IdempotencyService.normalizeKey(undefined)).toBeUndefined();
    expect(IdempotencyService.normalizeKey('')).toBeUndefined();
    expect(IdempotencyService.normalizeKey('abc')).toBe('abc');
    expect(() => IdempotencyService.normalizeKey('x'.repeat(256))).toThrow(RequestValidationError);
  });
});
