import { MemoryMessageBus } from '../../src/storage/memory/memory-message-bus';
import { MemoryMessageStore } from '../../src/storage/memory/memory-message-store';
import { NewMessage } from '../../src/storage/ports';

const marked = (n: number, marker: string): NewMessage => ({
  topic: 't',
  payload: { n },
  metadata: {},
  idempotencyMarker: marker,
});

describe('MemoryMessageStore idempotency markers', () => {
  let now: number;
  let sut: MemoryMessageStore;

  beforeEach(() => {
    now = 1_000_000;
    sut = new MemoryMessageStore(
      new MemoryMessageBus(),
      { maxMessagesPerTopic: 1000, maxAgeSeconds: 0, idempotencyWindowSeconds: 5 },
      () => now,
    );
  });

  it('keeps a marker for the window plus the 30 s lease, then appends again', async () => {
    const first = await sut.append(marked(1, 'u:k'));
    now += 34_999;
    expect(await sut.findMarker('t', 'u:k')).toBe(first.id);
    expect((await sut.append(marked(1, 'u:k'))).id).toBe(first.id);
    now += 1;
    expect(await sut.findMarker('t', 'u:k')).toBeNull();
    const second = await sut.append(marked(1, 'u:k'));
    expect(second.id).not.toBe(first.id);
    expect(await sut.count('t')).toBe(2);
    expect(await sut.findMarker('t', 'u:k')).toBe(second.id);
  });

  it('drops expired markers as it goes, so that they stay bounded', async () => {
    for (let i = 0; i < 100; i++) await sut.append(marked(i, `u:k${i}`));
    now += 35_000;
    await sut.append(marked(100, 'u:last'));
    const log = (sut as unknown as { logs: Map<string, { markers: Map<string, unknown> }> }).logs;
    expect([...(log.get('t')?.markers.keys() ?? [])]).toEqual(['u:last']);
  });
});
