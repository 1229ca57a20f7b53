import { AuthUser } from '../auth/auth-user';
import { OutboundMessage } from './outbound-message';

export type ConsumerKind = 'websocket' | 'poll';

/**
 * A live consumer (a WebSocket session or a waiting long-poll). Control events reach it through
 * these methods; each re-checks access with fresh data and ends what is no longer allowed.
 */
export interface Consumer {
  readonly kind: ConsumerKind;
  readonly user: AuthUser;
  topicDeleted(topic: string): void;
  topicAccessChanged(topic: string): void;
  userChanged(): void;
  tokenRevoked(jti: string): void;
}

/** One consumer's interest in one topic, as registered with the `Fanout`. */
export interface FanoutListener {
  readonly consumer: Consumer;
  /** True when the message was handed to the consumer (counted as a delivery). */
  onMessage(message: OutboundMessage): boolean;
  /** The bus lost messages (reconnect): catch up from the store after the last delivered id. */
  onResync(): void;
}
