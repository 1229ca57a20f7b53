import { ControlEvent, ControlHandler, MessageBus, MessageHandler, StoredMessage } from '../ports';

/** In-process bus: handlers run synchronously, in append order. */
export class MemoryMessageBus extends MessageBus {
  private readonly topics = new Map<string, Set<MessageHandler>>();
  private readonly controlHandlers: ControlHandler[] = [];

  /** Called by the memory store right after an append. */
  dispatch(message: StoredMessage): void {
    const handlers = this.topics.get(message.topic);
    if (!handlers) return;
    for (const handler of handlers) {
      try {
        handler(message);
      } catch {
        // A failing consumer must never fail the publisher; delivery handles its own errors.
      }
    }
  }

  async subscribe(topic: string, handler: MessageHandler): Promise<void> {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(handler);
  }

  async unsubscribe(topic: string, handler: MessageHandler): Promise<void> {
    const set = this.topics.get(topic);
    if (!set) return;
    set.delete(handler);
    if (set.size === 0) this.topics.delete(topic);
  }

  async publishControl(event: ControlEvent): Promise<void> {
    for (const handler of this.controlHandlers) handler(event);
  }

  onControl(handler: ControlHandler): void {
    this.controlHandlers.push(handler);
  }

  onResync(): void {
    // An in-process bus never loses messages.
  }
}
