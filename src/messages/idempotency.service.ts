import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, RequestValidationError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { KeyValueStore } from '../storage/ports';

/** Marks a key claimed by a request still running; a finished record is JSON (`{…}`). */
const IN_FLIGHT = '\u0000in-flight';
/** A claim outlives its request by at most this long if the instance dies mid-request. */
const CLAIM_TTL_SECONDS = 30;
/** How long a duplicate waits for the first request before answering 409. */
const IN_FLIGHT_WAIT_MS = 5_000;
const MAX_KEY_LENGTH = 255;

/**
 * `Idempotency-Key` handling: the first request claims `(user, endpoint, key)`, runs, and records
 * its response for `storage.idempotency_window`; repeats get the recorded response without
 * writing. A repeat while the first still runs waits for it (at once when both are on this
 * instance), then answers 409 `IDEMPOTENCY_IN_FLIGHT`. A failed first attempt releases the key.
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

  constructor(
    private readonly kv: KeyValueStore,
    config: RelayConfig,
  ) {
    this.window = config.storage.idempotencyWindow;
    this.claimTtl = Math.min(CLAIM_TTL_SECONDS, this.window);
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
  ): Promise<T> {
    if (key === undefined || this.window <= 0) return work();
    const recordKey = `idem:${scope}:${key}`;
    const deadline = Date.now() + this.inFlightWaitMs;
    let pause = 10;
    for (;;) {
      if (await this.kv.setIfAbsent(recordKey, IN_FLIGHT, this.claimTtl)) {
        return this.runClaimed(recordKey, work);
      }
      const recorded = await this.kv.get(recordKey);
      if (recorded !== null && recorded !== IN_FLIGHT) return JSON.parse(recorded) as T;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ConflictError(
          'A request with this Idempotency-Key is still in progress; retry later',
          'IDEMPOTENCY_IN_FLIGHT',
        );
      }
      // null: released or expired in between, so claim again at once.
      if (recorded === null) continue;
      const local = this.running.get(recordKey);
      if (local) await Promise.race([local, sleep(remaining)]);
      else {
        await sleep(Math.min(pause, remaining));
        pause = Math.min(pause * 2, 200);
      }
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
      try {
        await this.kv.set(recordKey, JSON.stringify(result), this.window);
      } catch (error) {
        // The work is done and durable: answer it; the claim expires on its own.
        this.logger.warn({ err: error }, 'Could not record an idempotent response');
      }
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
