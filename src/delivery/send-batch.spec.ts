import { SendBatch } from './send-batch';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('SendBatch', () => {
  it('collects from the second message of a tick and releases every held writer once', async () => {
    const batch = new SendBatch();
    const released: string[] = [];
    const writer = (name: string) => ({ release: () => released.push(name) });
    const [a, b] = [writer('a'), writer('b')];

    batch.message();
    expect(batch.collecting).toBe(false);
    batch.message();
    expect(batch.collecting).toBe(true);
    batch.hold(a);
    batch.hold(b);
    batch.hold(a);
    expect(released).toEqual([]);

    await nextTurn();
    expect(released).toEqual(['a', 'b']);
    // A new tick starts a new batch: its first message is not collected.
    batch.message();
    expect(batch.collecting).toBe(false);
    await nextTurn();
    expect(released).toEqual(['a', 'b']);
  });
});
