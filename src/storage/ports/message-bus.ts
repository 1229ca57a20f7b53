import { StoredMessage } from './message-store';

/** Events every instance must learn about, so live connections follow access changes at once. */
export type ControlEvent =
  | { kind: 'topic-deleted'; topic: string }
  | { kind: 'topic-access-changed'; topic: string }
  | { kind: 'user-changed'; userId: string }
  | { kind: 'token-revoked'; jti: string; userId: string };

export type MessageHandler = (message: StoredMessage) => void;
export type ControlHandler = (event: ControlEvent) => void;

/**
 * Fan-out between instances. `MessageStore.append` announces each message on the bus atomically
 * with the append (Valkey: one script runs XADD and PUBLISH), so every handler of a topic sees its
 * messages exactly in id order. Memory: in-process. Valkey: pub/sub, and an instance only
 * subscribes to topics that have local handlers.
 */
export abstract class MessageBus {
  /** Starts receiving a topic's messages; resolves once the subscription is active. */
  abstract subscribe(topic: string, handler: MessageHandler): Promise<void>;
  abstract unsubscribe(topic: string, handler: MessageHandler): Promise<void>;
  abstract publishControl(event: ControlEvent): Promise<void>;
  abstract onControl(handler: ControlHandler): void;
  /**
   * Called after the bus lost and regained its connection (messages may have been missed):
   * subscribers catch up from the store.
   */
  abstract onResync(handler: () => void): void;
}
