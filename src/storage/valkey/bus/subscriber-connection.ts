import { Redis } from 'ioredis';
import { StorageUnavailableError } from '../../../common/errors';

export interface SubscriberEvents {
  message(channel: string, raw: string): void;
  /** The connection dropped: messages of these channels may be missed from now on. */
  lost(channels: string[]): void;
  /** These channels are subscribed again (or for the first time, when added while offline). */
  restored(channels: string[], reconnected: boolean): void;
}

/**
 * One connection in subscriber mode, classic (SUBSCRIBE) or sharded (SSUBSCRIBE). It keeps the
 * set of wanted channels and subscribes them again itself after every reconnect, then reports
 * them restored, so that the bus knows exactly when delivery may have had a gap.
 */
export class SubscriberConnection {
  private readonly wanted = new Set<string>();
  /** Subscribed to every wanted channel since the last (re)connect. */
  private live = false;
  private everReady = false;
  private closed = false;
  /** Settles on the first connection attempt: true once ready, false if it failed. */
  private readonly firstAttempt: Promise<boolean>;

  constructor(
    private readonly redis: Redis,
    private readonly sharded: boolean,
    private readonly events: SubscriberEvents,
  ) {
    this.firstAttempt = new Promise((resolve) => {
      redis.once('ready', () => resolve(true));
      redis.once('close', () => resolve(false));
    });
    redis.on(sharded ? 'smessage' : 'message', (channel: string, raw: string) =>
      events.message(channel, raw),
    );
    redis.on('close', () => this.onClose());
    redis.on('ready', () => void this.onReady());
    // Connection errors surface as 'close' and failed calls; without a listener they would crash.
    redis.on('error', () => undefined);
    redis.connect().catch(() => undefined);
  }

  /**
   * Subscribes now. A new connection is waited for (once, bounded by the connect timeout); a
   * lost one fails fast. Either way the channel stays wanted until removed.
   */
  async add(channel: string): Promise<void> {
    this.wanted.add(channel);
    const ready = this.redis.status === 'ready' || (!this.everReady && (await this.firstAttempt));
    if (!ready || this.redis.status !== 'ready') throw new StorageUnavailableError();
    await this.send([channel]);
  }

  async remove(channel: string): Promise<void> {
    if (!this.wanted.delete(channel) || this.redis.status !== 'ready') return;
    await (this.sharded ? this.redis.sunsubscribe(channel) : this.redis.unsubscribe(channel));
  }

  close(): void {
    this.closed = true;
    this.wanted.clear();
    this.redis.disconnect();
  }

  private async send(channels: string[]): Promise<void> {
    if (this.sharded) {
      // One SSUBSCRIBE may only name channels of one slot.
      await Promise.all(channels.map((channel) => this.redis.ssubscribe(channel)));
    } else {
      await this.redis.subscribe(...channels);
    }
  }

  private onClose(): void {
    if (!this.live || this.closed) return;
    this.live = false;
    this.events.lost([...this.wanted]);
  }

  private async onReady(): Promise<void> {
    const reconnected = this.everReady;
    this.everReady = true;
    const channels = [...this.wanted];
    try {
      if (channels.length) await this.send(channels);
    } catch {
      return; // Dropped again; the next 'ready' retries.
    }
    this.live = true;
    this.events.restored(channels, reconnected);
  }
}
