import { setBounded } from './bounded-map';

describe('setBounded', () => {
  it('drops the oldest entry at the bound, and a re-set entry counts as newest', () => {
    const map = new Map<string, number>();
    setBounded(map, 'a', 1, 2);
    setBounded(map, 'b', 2, 2);
    setBounded(map, 'a', 3, 2); // refreshed: 'b' is now the oldest, nothing dropped
    expect([...map]).toEqual([
      ['b', 2],
      ['a', 3],
    ]);
    setBounded(map, 'c', 4, 2);
    expect([...map]).toEqual([
      ['a', 3],
      ['c', 4],
    ]);
  });
});
