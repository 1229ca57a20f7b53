import { compareMessageIds, isoTime, normalizeMessageId, requireMessageId } from './message-id';
import { RequestValidationError } from './errors';

describe('message ids', () => {
  it('accepts <ms>-<seq> with unsigned 64-bit parts and canonicalises leading zeros', () => {
    expect(normalizeMessageId('1715764382123-0')).toBe('1715764382123-0');
    expect(normalizeMessageId('0001-007')).toBe('1-7');
    expect(normalizeMessageId('18446744073709551615-18446744073709551615')).toBe(
      '18446744073709551615-18446744073709551615',
    );
  });

  it.each([
    '',
    '1',
    '1-',
    '-1',
    'a-1',
    '1-1-1',
    ' 1-1',
    '1.5-0',
    '18446744073709551616-0',
    'msg_abc',
    '$',
    '+',
    '-',
  ])('rejects %p', (id) => {
    expect(normalizeMessageId(id)).toBeNull();
    expect(() => requireMessageId(id, ['body', 'since', 't'])).toThrow(RequestValidationError);
  });

  it('orders ids numerically by (ms, seq)', () => {
    const ids = ['10-0', '9-5', '9-10', '100-0', '9-9'];
    expect([...ids].sort(compareMessageIds)).toEqual(['9-5', '9-9', '9-10', '10-0', '100-0']);
    expect(compareMessageIds('5-1', '5-1')).toBe(0);
  });

  it('formats an id time as ISO-8601 UTC, the same for repeated and alternating times', () => {
    const times = [0, 1_732_530_000_123, 1_732_530_000_123, 1_732_530_000_124, 0, 8.64e15];
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
