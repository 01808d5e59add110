import { createHash } from 'node:crypto';
import { deterministicEventId, uuidV5 } from './event-ids';

const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
const VERSION_5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidV5', () => {
  it('gives the RFC 4122 / RFC 9562 test vector (DNS namespace, "www.example.com")', () => {
    expect(uuidV5(DNS, 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it("agrees with other implementations (Python's uuid.uuid5) in the DNS and URL namespaces", () => {
    expect(uuidV5(DNS, 'python.org')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(uuidV5(URL_NAMESPACE, 'http://www.ietf.org/rfc/rfc4122.txt')).toBe('d0690b3c-b29d-52e7-81b0-d573b503f2d4');
  });

  it('accepts the namespace in upper case, and refuses one that is not a UUID', () => {
    expect(uuidV5(DNS.toUpperCase(), 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(() => uuidV5('not-a-uuid', 'x')).toThrow('namespace is not a UUID: "not-a-uuid"');
  });
});

describe('deterministicEventId', () => {
  it('is the version 5 layout of the SHA-1 of the parts joined by NUL (the ids token-registry has always published)', () => {
    const parts = ['cause-1', 'phone', 'TokenAssigned', '1'];
    const digest = createHash('sha1').update(parts.join('\u0000')).digest('hex');

    expect(deterministicEventId(...parts)).toBe('9ba813f1-ec06-59ca-b91f-12f7fe85d69c');
    expect(
      deterministicEventId(...parts)
        .replace(/-/g, '')
        .slice(0, 12),
    ).toBe(digest.slice(0, 12));
    expect(deterministicEventId(...parts)).toMatch(VERSION_5);
  });

  it('gives the same parts the same id, and other parts (also split elsewhere) another', () => {
    expect(deterministicEventId('a', 'bc')).toBe(deterministicEventId('a', 'bc'));
    expect(deterministicEventId('a', 'bc')).not.toBe(deterministicEventId('ab', 'c'));
    expect(deterministicEventId('a', 'bc')).not.toBe(deterministicEventId('a', 'bd'));
  });
});
