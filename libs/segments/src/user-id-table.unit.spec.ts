import { UserIdTable } from './user-id-table';

describe('UserIdTable (user ids ↔ ordinals in typed arrays)', () => {
  it('gives ordinals in order of first sight, finds them again and names their ids, through many growths', () => {
    const table = new UserIdTable();
    const ids = Array.from({ length: 50_000 }, (_, i) => (i % 7 === 0 ? `ユーザー-${i}-é` : `user-${i}`));
    ids.forEach((id, i) => expect(table.add(id)).toBe(i));
    expect(table.size).toBe(ids.length);
    for (let i = 0; i < ids.length; i += 97) {
      expect(table.get(ids[i])).toBe(i);
      expect(table.idAt(i)).toBe(ids[i]);
    }
    expect(table.add(ids[123])).toBe(123); // known: the same ordinal, nothing appended
    expect(table.size).toBe(ids.length);
    expect(table.get('user-50000')).toBeUndefined();
    expect(table.get('')).toBeUndefined();
    expect(() => table.idAt(ids.length)).toThrow(RangeError);
  });

  it('tells apart ids that share a prefix or differ only in case, and holds the empty id', () => {
    const table = new UserIdTable();
    for (const id of ['a', 'ab', 'A', 'abc', '']) table.add(id);
    expect(['a', 'ab', 'A', 'abc', ''].map((id) => table.get(id))).toEqual([0, 1, 2, 3, 4]);
    expect(table.get('b')).toBeUndefined();
  });

  it('memory: a million ids in a few tens of MB of typed arrays', () => {
    const table = new UserIdTable();
    for (let i = 0; i < 1_000_000; i++) table.add(`user-${String(i).padStart(7, '0')}`);
    expect(table.byteLength).toBeLessThan(45 * 1024 * 1024);
    expect(table.get('user-0999999')).toBe(999_999);
  });
});
