import { LogNow, StoredPosition, assessPartition, messageDigest, sameMessage } from './log-identity';

const log = (over: Partial<LogNow> = {}): LogNow => ({
  clusterId: 'cluster-a',
  logStartOffset: '0',
  logEndOffset: '100',
  ...over,
});
const digest = messageDigest(Buffer.from('ws:app:d1'), Buffer.from([0xc3, 0x01, 7]));
const stored = (over: Partial<StoredPosition> = {}): StoredPosition => ({
  nextOffset: '40',
  clusterId: 'cluster-a',
  lastOffset: '39',
  lastTimestamp: '1700000000000',
  lastDigest: digest,
  ...over,
});

describe('assessPartition: may a partition be consumed from the stored offsets?', () => {
  it('consumes a partition the read model never applied from the log start, whatever Kafka committed', () => {
    expect(assessPartition(undefined, log({ logStartOffset: '12' }))).toEqual({ kind: 'consume', offset: '12' });
  });

  it('consumes from the last applied message, to be checked, when the log can still be the same one', () => {
    expect(assessPartition(stored(), log())).toEqual({
      kind: 'consume',
      offset: '39',
      verify: { offset: '39', timestamp: '1700000000000', digest },
    });
  });

  it('accepts a log that has not grown since (stored offset = log end)', () => {
    expect(assessPartition(stored(), log({ logEndOffset: '40' }))).toMatchObject({ kind: 'consume', offset: '39' });
  });

  it('refuses a log of another cluster', () => {
    expect(assessPartition(stored(), log({ clusterId: 'cluster-b' }))).toMatchObject({
      kind: 'refuse',
      reason: 'OTHER_CLUSTER',
    });
  });

  it('refuses a log that ends before the stored offset (a reset broker, a recreated topic)', () => {
    const assessment = assessPartition(stored(), log({ logEndOffset: '12' }));
    expect(assessment).toMatchObject({ kind: 'refuse', reason: 'LOG_END_BEFORE_STORED_OFFSET' });
    expect(assessment.kind === 'refuse' && assessment.message).toMatch(
      /ends at offset 12, before the stored offset 40/,
    );
  });

  it('refuses a log whose start is past the stored offset (messages deleted before the read model applied them)', () => {
    expect(assessPartition(stored(), log({ logStartOffset: '41' }))).toMatchObject({
      kind: 'refuse',
      reason: 'STORED_OFFSET_BEFORE_LOG_START',
    });
  });

  it('checks the offsets only when no identity was recorded (rows from before) or the last applied message was deleted', () => {
    const legacy = stored({ clusterId: null, lastOffset: null, lastTimestamp: null, lastDigest: null });
    expect(assessPartition(legacy, log({ clusterId: 'anything' }))).toEqual({ kind: 'consume', offset: '40' });
    expect(assessPartition(stored(), log({ logStartOffset: '40' }))).toEqual({ kind: 'consume', offset: '40' });
    expect(assessPartition(legacy, log({ logEndOffset: '3' }))).toMatchObject({
      kind: 'refuse',
      reason: 'LOG_END_BEFORE_STORED_OFFSET',
    });
  });
});

describe('sameMessage: is the message at the last applied offset the one applied?', () => {
  const expected = { offset: '39', timestamp: '1700000000000', digest };

  it('is when offset, timestamp, key and value all match', () => {
    expect(
      sameMessage(expected, {
        offset: '39',
        timestamp: '1700000000000',
        digest: messageDigest(Buffer.from('ws:app:d1'), Buffer.from([0xc3, 0x01, 7])),
      }),
    ).toBe(true);
  });

  it('is not when any of them differs, or the log has no message there', () => {
    expect(sameMessage(expected, { offset: '40', timestamp: '1700000000000', digest })).toBe(false);
    expect(sameMessage(expected, { offset: '39', timestamp: '1700000000001', digest })).toBe(false);
    expect(
      sameMessage(expected, {
        offset: '39',
        timestamp: '1700000000000',
        digest: messageDigest(Buffer.from('ws:app:d2'), Buffer.from([0xc3, 0x01, 7])),
      }),
    ).toBe(false);
    expect(sameMessage(expected, undefined)).toBe(false);
  });

  it('does not let key and value trade bytes', () => {
    expect(
      messageDigest(Buffer.from('ab'), Buffer.from('c')).equals(messageDigest(Buffer.from('a'), Buffer.from('bc'))),
    ).toBe(false);
    expect(messageDigest(null, Buffer.from('')).equals(messageDigest(Buffer.from(''), null))).toBe(false);
  });
});
