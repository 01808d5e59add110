import { randomBytes } from 'node:crypto';
import { Partitioners, PartitionerArgs } from 'kafkajs';
import { JavaCompatiblePartitioner, murmur2 } from './partitioner';

const metadata = (partitions: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));

describe('JavaCompatiblePartitioner', () => {
  it("computes the Java client's murmur2 (Kafka's own test vectors)", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
  });

  it("puts every key on the partition kafkajs's DefaultPartitioner does, for strings and bytes of any length", () => {
    const ours = JavaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    const disagreements: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const bytes = randomBytes(i % 97);
      const keys = [bytes, `ws-${i}\u0000app\u0000device-${bytes.toString('base64')}`];
      for (const key of keys) {
        for (const partitions of [1, 3, 6, 12]) {
          const args = { topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } };
          if (ours(args) !== theirs(args)) disagreements.push(`${String(key)} over ${partitions}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('keeps an explicit partition and spreads keyless messages over the partitions', () => {
    const ours = JavaCompatiblePartitioner();
    expect(ours({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: null, partition: 4 } })).toBe(
      4,
    );
    const seen = new Set(
      Array.from({ length: 12 }, () => ours({ topic: 't', partitionMetadata: metadata(6), message: { value: null } })),
    );
    expect(seen.size).toBe(6);
  });
});
