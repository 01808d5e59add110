import { DispatchRequested, Topics } from '@push/contracts';
import { deviceEvents, deviceTokenEvents, userEvents } from '@push/testing';
import { parseTime } from '../cli/cli-errors';
import { planRanges } from '../log/log-reader';
import { matchesFilter, parseDeviceRef } from './filters';
import { CSV_HEADER, csvCell, csvLine, ndjsonLine } from './formats';

const phone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone' };

describe('export filters', () => {
  const registered = deviceEvents.tokenRegistered(phone, 1000, 'tok', { user_id: 'kim' });
  const changed = deviceEvents.changeUser(phone, 2000, 'lee', 'kim');
  const anonymous = deviceEvents.appUninstalled(phone, 3000);
  const assigned = deviceTokenEvents.tokenAssigned({ ...phone, device_id: 'tablet' }, 4000, 'tok');
  const moved = { ...assigned, data: { ...assigned.data, moved_from_device_id: 'phone' } };

  it('a user matches user_id, previous_user_id and a dispatch user audience', () => {
    expect(matchesFilter({ user: 'kim' }, registered)).toBe(true);
    expect(matchesFilter({ user: 'kim' }, changed)).toBe(true);
    expect(matchesFilter({ user: 'kim' }, anonymous)).toBe(false);
    const dispatch = {
      type: 'DispatchRequested',
      data: {
        dispatch_id: 'd1',
        workspace_id: 'acme',
        audience: { 'push.dispatch.UserAudience': { user_ids: ['ann', 'kim'] } },
      } as unknown as DispatchRequested,
    };
    expect(matchesFilter({ user: 'kim' }, dispatch)).toBe(true);
    expect(matchesFilter({ user: 'bob' }, dispatch)).toBe(false);
  });

  it('a device matches app and device id, or any app when the app is left out, and the device a token moved from', () => {
    expect(matchesFilter({ device: parseDeviceRef('ios-app:phone') }, anonymous)).toBe(true);
    expect(matchesFilter({ device: parseDeviceRef('android-app:phone') }, anonymous)).toBe(false);
    expect(matchesFilter({ device: parseDeviceRef('phone') }, anonymous)).toBe(true);
    expect(matchesFilter({ device: parseDeviceRef('ios-app:phone') }, moved)).toBe(true);
    expect(parseDeviceRef('web-app:a:b')).toEqual({ app_id: 'web-app', device_id: 'a:b' });
    expect(() => parseDeviceRef('ios-app:')).toThrow('expected app_id:device_id');
  });

  it('types and workspace are conditions of their own; all conditions must hold', () => {
    expect(matchesFilter({ types: new Set(['TokenRegistered']) }, registered)).toBe(true);
    expect(matchesFilter({ types: new Set(['TokenRegistered']) }, changed)).toBe(false);
    expect(matchesFilter({ workspace: 'globex' }, registered)).toBe(false);
    expect(matchesFilter({ workspace: 'acme', user: 'kim', types: new Set(['ChangeUser']) }, changed)).toBe(true);
    expect(matchesFilter({ workspace: 'acme', user: 'ann', types: new Set(['ChangeUser']) }, changed)).toBe(false);
    expect(
      matchesFilter({}, userEvents.pushSubscriptionSet({ workspace_id: 'x', user_id: 'y' }, 1, 'SUBSCRIBED')),
    ).toBe(true);
  });
});

describe('export formats', () => {
  const row = {
    topic: Topics.DeviceEvents,
    partition: 2,
    offset: '41',
    key: 'acme:ios-app:phone',
    timestamp: Date.UTC(2026, 11, 1, 12),
    event: deviceEvents.tokenRegistered(phone, Date.UTC(2026, 11, 1, 11), 'tok', { user_id: 'kim' }),
  };

  it('NDJSON: one object per line with where the message was and the decoded record', () => {
    const line = ndjsonLine(row);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(JSON.parse(line)).toEqual({
      topic: Topics.DeviceEvents,
      partition: 2,
      offset: 41,
      key: 'acme:ios-app:phone',
      timestamp: '2026-12-01T12:00:00.000Z',
      type: 'TokenRegistered',
      event: row.event.data,
    });
  });

  it('NDJSON: an undecodable message keeps its error and its bytes', () => {
    const line = JSON.parse(
      ndjsonLine({ ...row, event: undefined, error: { code: 'BAD_MAGIC', message: 'no' }, value: Buffer.from([1, 2]) }),
    );
    expect(line).toMatchObject({ error: { code: 'BAD_MAGIC', message: 'no' }, value_base64: 'AQI=' });
    expect(line.event).toBeUndefined();
  });

  it('CSV quoting (RFC 4180): commas, quotes, CR and LF are quoted, quotes doubled; plain cells are left alone', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\r')).toBe('"cr\r"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(7)).toBe('7');
  });

  it('CSV: a cell an SDK chose that a spreadsheet would run as a formula is prefixed with a quote', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('@sum')).toBe("'@sum");
    expect(csvCell('\tx')).toBe("'\tx");
  });

  it('CSV: a row has the header’s columns and the event as one JSON cell that parses back', () => {
    const line = csvLine(row);
    expect(CSV_HEADER.trim().split(',')).toHaveLength(11);
    const match =
      /^([^,]*),2,41,acme:ios-app:phone,2026-12-01T12:00:00.000Z,TokenRegistered,acme,([^,]+),2026-12-01T11:00:00.000Z,"(.*)",\n$/.exec(
        line,
      );
    expect(match?.[1]).toBe(Topics.DeviceEvents);
    expect(match?.[2]).toBe(row.event.data.event_id);
    expect(JSON.parse((match?.[3] as string).replace(/""/g, '"'))).toEqual(row.event.data);
    expect(csvLine({ ...row, event: undefined, error: { code: 'EMPTY', message: 'no value' } })).toMatch(
      /,EMPTY: no value\n$/,
    );
  });
});

describe('ranges and times', () => {
  it('times are ISO-8601 or epoch milliseconds; anything else is refused naming the option', () => {
    expect(parseTime('2026-12-01T12:00:00Z', '--from')).toBe(Date.UTC(2026, 11, 1, 12));
    expect(parseTime('2026-12-01', '--from')).toBe(Date.UTC(2026, 11, 1));
    expect(parseTime('1764590400000', '--to')).toBe(1764590400000);
    expect(() => parseTime('yesterday', '--to')).toThrow('--to: expected an ISO-8601 time');
    expect(() => parseTime('12/01/2026', '--to')).toThrow('--to');
  });

  it('plans each partition from the latest of log start, --from and --from-offset to the earliest of the log end captured now, --to and --to-offset', async () => {
    const admin = {
      listTopics: async () => ['p.sdk.user-events.v1'],
      fetchTopicOffsets: async () => [
        { partition: 1, low: '5', high: '100', offset: '100' },
        { partition: 0, low: '0', high: '50', offset: '50' },
      ],
      fetchTopicOffsetsByTimestamp: async (_topic: string, ts: number) =>
        ts === 1000
          ? [
              { partition: 0, offset: '10' },
              { partition: 1, offset: '3' },
            ]
          : [
              { partition: 0, offset: '40' },
              { partition: 1, offset: '100' },
            ],
    };
    const ranges = await planRanges(admin as never, 'p.', {
      topics: [Topics.UserEvents],
      fromTime: 1000,
      toTime: 2000,
      toOffset: 60n,
    });
    expect(ranges).toEqual([
      { topic: Topics.UserEvents, partition: 0, start: 10n, end: 40n },
      { topic: Topics.UserEvents, partition: 1, start: 5n, end: 61n },
    ]);
    const follow = await planRanges(admin as never, 'p.', {
      topics: [Topics.UserEvents],
      partitions: [1],
      follow: true,
    });
    expect(follow).toEqual([{ topic: Topics.UserEvents, partition: 1, start: 5n, end: null }]);
    await expect(planRanges(admin as never, 'q.', { topics: [Topics.UserEvents] })).rejects.toThrow(
      'no such topic on the broker: q.sdk.user-events.v1',
    );
  });
});
