import { deadLetter } from './dead-letter';

describe('deadLetter (DESIGN §3.5)', () => {
  it('keeps key, value and original headers byte for byte, and names the error and the source', () => {
    const key = Buffer.from([0xc3, 0xff, 0x00]);
    const value = Buffer.from('not avro');
    const trace = Buffer.from([0x01, 0x02]);

    const letter = deadLetter(
      'sdk.device-events.v1',
      4,
      { key, value, headers: { trace }, offset: '1234' },
      'BAD_MAGIC',
      'no C3 01 marker',
    );

    expect(letter).toEqual({
      topic: 'sdk.device-events.v1.dlq',
      key,
      value,
      headers: {
        trace,
        'dlq-error': 'no C3 01 marker',
        'dlq-error-code': 'BAD_MAGIC',
        'dlq-source-topic': 'sdk.device-events.v1',
        'dlq-source-partition': '4',
        'dlq-source-offset': '1234',
      },
    });
  });
});
