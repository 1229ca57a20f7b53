/** A writer whose writes a `SendBatch` can hold: a WebSocket session's connection. */
export interface HeldWriter {
  /** Writes what was held (and judges what is left in the send buffer). */
  release(): void;
}

/**
 * Coalesces the socket writes of messages that reach the fan-out in the same tick: a bulk
 * publish, or one read of many messages from the Valkey bus. The first message of a tick goes
 * out at once, as without batching; from the second on, each socket holds its frames (corked)
 * and writes them in one syscall when the tick's code is done. A tick with a single message
 * costs one `process.nextTick`, nothing per socket.
 */
export class SendBatch {
  private messages = 0;
  private readonly held = new Set<HeldWriter>();
  private readonly end = (): void => {
    this.messages = 0;
    for (const writer of this.held) writer.release();
    this.held.clear();
  };

  /** The fan-out is about to hand a message to its listeners. */
  message(): void {
    if (this.messages++ === 0) process.nextTick(this.end);
  }

  /** Whether a frame sent now should be held until the end of the tick. */
  get collecting(): boolean {
    return this.messages > 1;
  }

  /** Releases `writer` at the end of the tick (once, however often it is held). */
  hold(writer: HeldWriter): void {
    this.held.add(writer);
  }
}
