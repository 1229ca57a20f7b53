import { AckWriter } from './ack-store';

describe('AckWriter', () => {
  it('writes only forward and coalesces acks that arrive while a write is in flight', async () => {
    const writes: string[] = [];
    let release!: () => void;
    const sut = new AckWriter(async (id) => {
      writes.push(id);
      await new Promise<void>((resolve) => (release = resolve));
    });
    sut.ack('1-1');
    sut.ack('1-2');
    sut.ack('1-5');
    sut.ack('1-3'); // older than the pending one: ignored
    expect(writes).toEqual(['1-1']);
    release();
    await new Promise(setImmediate);
    expect(writes).toEqual(['1-1', '1-5']);
    release();
    await new Promise(setImmediate);
    sut.ack('1-4'); // older than what was written: ignored
    expect(writes).toEqual(['1-1', '1-5']);
  });
});
