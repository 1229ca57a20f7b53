import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, RequestValidationError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { IDEMPOTENCY_LEASE_SECONDS, KeyValueStore } from '../storage/ports';

/** A claim by a request still running (stored as JSON); a finished record is the response. */
interface InFlightClaim {
  state: 'in_flight';
  since: number;
}
/** What earlier versions stored as a claim; still understood (its age is unknown). */
const LEGACY_IN_FLIGHT = '\u0000in-flight';
/** How long a duplicate waits for the first request before looking for what it stored. */
const IN_FLIGHT_WAIT_MS = 5_000;
const MAX_KEY_LENGTH = 255;
/** Keys used as they are in markers; any other is hashed (bounded, and no `:`/`#` ambiguity). */
const PLAIN_MARKER_KEY = /^[A-Za-z0-9_.~-]{1,64}$/;

function markerKey(key: string): string {
  return PLAIN_MARKER_KEY.test(key)
    ? key
    : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** Marker of the message of a single publish (see `NewMessage.idempotencyMarker`). */
export function singleMarker(userId: string, key: string): string {
  return `${userId}:${markerKey(key)}`;
}

/** Marker of message `index` of a bulk publish. */
export function bulkMarker(userId: string, key: string, index: number): string {
  return `${userId}:${markerKey(key)}#${index}`;
}

/**
 * Rebuilds the response of a request whose claim is still in flight from what it stored (the
 * messages carrying its idempotency markers), finishing what it left undone where that is safe;
 * null when it left no trace.
 */
export type IdempotentRecovery<T> = () => Promise<T | null>;

type Recorded<T> = { kind: 'done'; response: T } | { kind: 'in_flight'; since: number | null };

function parseRecord<T>(raw: string): Recorded<T> {
  if (raw === LEGACY_IN_FLIGHT) return { kind: 'in_flight', since: null };
  const value = JSON.parse(raw) as T | InFlightClaim;
  if ((value as InFlightClaim).state === 'in_flight') {
    const since = (value as InFlightClaim).since;
    return { kind: 'in_flight', since: typeof since === 'number' ? since : null };
  }
  return { kind: 'done', response: value as T };
}

/**
 * `Idempotency-Key` handling: the first request claims `(user, endpoint, key)`, runs, and records
 * its response for `storage.idempotency_window`; repeats get the recorded response without
 * writing. A repeat while the first still runs waits for it (at once when both are on this
 * instance). If the claim is still there after the wait, the first request may have died between
 * its append and the recording of its response, so `recover` looks for the messages it appended
 * (by their idempotency markers, written atomically with them): found ⇒ its response, rebuilt and
 * recorded. Nothing found ⇒ a claim older than the lease is taken over and the work runs again;
 * a fresh one ⇒ 409 `IDEMPOTENCY_IN_FLIGHT`. A failed first attempt releases the key.
 *
 * The message store skips a message whose marker it already holds (returning the earlier id), so
 * work that runs twice for one key (a takeover of a slow but live first attempt, a claim that
 * expired after a crash) still stores each message once within the window.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);
  /** Claims held by requests running on this instance, settled when they finish. */
  private readonly running = new Map<string, Promise<void>>();
  private readonly window: number;
  private readonly claimTtl: number;
  /** How long a duplicate waits for the first request (tests shorten it). */
  inFlightWaitMs = IN_FLIGHT_WAIT_MS;
  /** Epoch ms, for claim ages (tests move it). */
  clock: () => number = Date.now;

  constructor(
    private readonly kv: KeyValueStore,
    config: RelayConfig,
  ) {
    this.window = config.storage.idempotencyWindow;
    // The in-flight lease: a claim outlives its request by at most this long if the instance dies
    // mid-request (it expires then), and a claim older than this is taken over.
    this.claimTtl = Math.min(IDEMPOTENCY_LEASE_SECONDS, this.window);
  }

  /** False when the window is 0: keys are then ignored (and markers are not needed). */
  get enabled(): boolean {
    return this.window > 0;
  }

  /** The header value, or undefined when absent/empty; 422 when unusable. */
  static normalizeKey(header: unknown): string | undefined {
    if (header === undefined || header === '') return undefined;
    if (typeof header !== 'string' || header.length > MAX_KEY_LENGTH) {
      throw RequestValidationError.single(
        ['header', 'Idempotency-Key'],
        `Idempotency-Key must be at most ${MAX_KEY_LENGTH} characters`,
        'string_too_long',
      );
    }
    return header;
  }

  async run<T extends object>(
    scope: string,
    key: string | undefined,
    work: () => Promise<T>,
    recover?: IdempotentRecovery<T>,
  ): Promise<T> {
    if (key === undefined || !this.enabled) return work();
    const recordKey = `idem:${scope}:${key}`;
    let deadline = Date.now() + this.inFlightWaitMs;
    let pause = 10;
    for (;;) {
      if (await this.claim(recordKey)) return this.runClaimed(recordKey, work);
      const raw = await this.kv.get(recordKey);
      // null: released or expired in between, so claim again at once.
      if (raw === null) continue;
      const recorded = parseRecord<T>(raw);
      if (recorded.kind === 'done') return recorded.response;
      const remaining = deadline - Date.now();
      if (remaining > 0) {
        const local = this.running.get(recordKey);
        if (local) await Promise.race([local, sleep(remaining)]);
        else {
          await sleep(Math.min(pause, remaining));
          pause = Math.min(pause * 2, 200);
        }
        continue;
      }
      const recovered = recover ? await recover() : null;
      if (recovered !== null) {
        await this.record(recordKey, recovered);
        return recovered;
      }
      if (!this.isStale(recorded.since)) {
        throw new ConflictError(
          'A request with this Idempotency-Key is still in progress; retry later',
          'IDEMPOTENCY_IN_FLIGHT',
        );
      }
      // Takes the stale claim over, unless it changed meanwhile; a loser waits again.
      if ((await this.kv.get(recordKey)) === raw) await this.kv.delete(recordKey);
      if (await this.claim(recordKey)) return this.runClaimed(recordKey, work);
      deadline = Date.now() + this.inFlightWaitMs;
      pause = 10;
    }
  }

  private claim(recordKey: string): Promise<boolean> {
    const claim: InFlightClaim = { state: 'in_flight', since: this.clock() };
    return this.kv.setIfAbsent(recordKey, JSON.stringify(claim), this.claimTtl);
  }

  /** Older than the lease; a claim of unknown age is never stale (it expires on its own). */
  private isStale(since: number | null): boolean {
    return since !== null && this.clock() - since >= this.claimTtl * 1000;
  }

  private async record(recordKey: string, response: object): Promise<void> {
    try {
      await this.kv.set(recordKey, JSON.stringify(response), this.window);
    } catch (error) {
      // The work is done and durable: answer it; the claim expires on its own.
      this.logger.warn({ err: error }, 'Could not record an idempotent response');
    }
  }

  private async runClaimed<T extends object>(
    recordKey: string,
    work: () => Promise<T>,
  ): Promise<T> {
    let settle!: () => void;
    this.running.set(recordKey, new Promise<void>((resolve) => (settle = resolve)));
    try {
      const result = await work();
      await this.record(recordKey, result);
      return result;
    } catch (error) {
      await this.kv.delete(recordKey).catch(() => undefined);
      throw error;
    } finally {
      this.running.delete(recordKey);
      settle();
    }
  }
}
