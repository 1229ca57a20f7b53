import { StoredMessage } from '../ports';

/**
 * What the hot tier needs from a bus: every message it receives, and a token that stays the
 * same exactly as long as a topic's delivery is uninterrupted.
 */
export interface MessageFeed {
  /**
   * Token of the topic's current uninterrupted subscription; null while not subscribed. It
   * changes whenever messages may have been missed (reconnect, resubscribe, stream deleted).
   */
  continuityToken(topic: string): number | null;
  /** `listener` sees every received message, in id order per topic, before the bus handlers. */
  onMessage(listener: (message: StoredMessage) => void): void;
}
