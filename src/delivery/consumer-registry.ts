import { Injectable } from '@nestjs/common';
import { Consumer, ConsumerKind } from './consumer';

/** Live consumers of this instance by user: connection limits, stats and user-level control events. */
@Injectable()
export class ConsumerRegistry {
  private readonly byUser = new Map<string, Set<Consumer>>();
  private readonly totals: Record<ConsumerKind, number> = { websocket: 0, poll: 0 };

  add(consumer: Consumer): void {
    let set = this.byUser.get(consumer.user.userId);
    if (!set) this.byUser.set(consumer.user.userId, (set = new Set()));
    if (set.has(consumer)) return;
    set.add(consumer);
    this.totals[consumer.kind]++;
  }

  remove(consumer: Consumer): void {
    const set = this.byUser.get(consumer.user.userId);
    if (!set?.delete(consumer)) return;
    this.totals[consumer.kind]--;
    if (set.size === 0) this.byUser.delete(consumer.user.userId);
  }

  forUser(userId: string): Consumer[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  countForUser(userId: string, kind: ConsumerKind): number {
    let n = 0;
    for (const consumer of this.byUser.get(userId) ?? []) if (consumer.kind === kind) n++;
    return n;
  }

  total(kind: ConsumerKind): number {
    return this.totals[kind];
  }

  all(kind: ConsumerKind): Consumer[] {
    const out: Consumer[] = [];
    for (const set of this.byUser.values()) {
      for (const consumer of set) if (consumer.kind === kind) out.push(consumer);
    }
    return out;
  }
}
