import type { UserView } from '@push/segments';
import { CSV_HEADER, csvCell, csvRecord, csvUserRow } from './export-csv';

const token = (over: Partial<UserView['tokens'][number]> = {}): UserView['tokens'][number] => ({
  app_id: 'ios-app',
  device_id: 'iphone',
  token: 'apns-secret-token',
  platform: 'IOS',
  foreground_enabled: true,
  background_enabled: true,
  suppressed: false,
  ...over,
});

describe('CSV user export (DESIGN §9)', () => {
  it('§9: the header names the ten columns in order, CRLF-terminated', () => {
    expect(CSV_HEADER).toBe(
      'external_id,push_subscribe,push_opted_in_at,push_enabled,foreground_push_enabled,background_push_enabled,' +
        'ios_push_reachable,android_push_reachable,web_push_reachable,push_tokens\r\n',
    );
  });

  it.each([
    ['plain', 'plain'],
    ['', ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['cr\rinside', '"cr\rinside"'],
  ])('RFC 4180: %j is written %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it.each([
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1', "'+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\rcmd', `"'\rcmd"`],
    ['=1,2', `"'=1,2"`],
  ])(
    '§9 CSV injection: a cell starting with a formula character, %j, is prefixed with a quote mark: %j',
    (value, cell) => {
      expect(csvCell(value)).toBe(cell);
    },
  );

  it('§9: a cell with a formula character only inside is left as it is', () => {
    expect(csvCell('a=b+c-d@e')).toBe('a=b+c-d@e');
    expect(csvRecord(['a', 'b,c', '=d'])).toBe(`a,"b,c",'=d\r\n`);
  });

  it('§9/G2–G7: a user row — booleans true/false, tokens as app:platform:device_id:foreground|background, no token', () => {
    const user: UserView = {
      user_id: 'kim',
      subscription: 'OPTED_IN',
      push_opted_in_at: Date.UTC(2026, 0, 2, 3, 4, 5),
      tokens: [
        token(),
        token({ app_id: 'android-app', device_id: 'pixel', platform: 'ANDROID', foreground_enabled: false }),
        token({ app_id: 'web-app', device_id: 'browser', platform: 'WEB', suppressed: true }),
      ],
    };
    const row = csvUserRow(user);
    expect(row).toBe(
      'kim,opted_in,2026-01-02T03:04:05.000Z,true,true,true,true,false,false,' +
        'ios-app:ios:iphone:foreground;android-app:android:pixel:background;web-app:web:browser:foreground\r\n',
    );
    expect(row).not.toContain('apns-secret-token');
  });

  it('§9/G2/G6 seeds: an unsubscribed user with a valid token is not push enabled nor reachable; no token, empty cells', () => {
    expect(
      csvUserRow({ user_id: 'lee', subscription: 'UNSUBSCRIBED', push_opted_in_at: null, tokens: [token()] }),
    ).toBe('lee,unsubscribed,,false,true,true,false,false,false,ios-app:ios:iphone:foreground\r\n');
    expect(csvUserRow({ user_id: 'ann', subscription: 'SUBSCRIBED', push_opted_in_at: null, tokens: [] })).toBe(
      'ann,subscribed,,false,false,false,false,false,false,\r\n',
    );
  });

  it('§9 CSV injection: a user id or an app id a client chose cannot become a formula', () => {
    const row = csvUserRow({
      user_id: '=cmd|"/c calc"!A1',
      subscription: 'SUBSCRIBED',
      push_opted_in_at: null,
      tokens: [token({ app_id: '@app', device_id: 'd,1' })],
    });
    expect(row.startsWith(`"'=cmd|""/c calc""!A1",`)).toBe(true);
    expect(row.endsWith(`,"'@app:ios:d,1:foreground"\r\n`)).toBe(true);
  });
});
