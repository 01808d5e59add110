import { BadMagicError, TruncatedMessageError } from './errors';

/** Avro single-object encoding: the marker `C3 01`, the writer schema's 8-byte little-endian fingerprint, the body. */
export const SINGLE_OBJECT_MARKER: readonly [number, number] = [0xc3, 0x01];
export const SINGLE_OBJECT_HEADER_LENGTH = 10;

/** The 10-byte header that precedes a body written with the schema of this fingerprint. */
export function singleObjectHeader(fingerprint: bigint): Buffer {
  const header = Buffer.alloc(SINGLE_OBJECT_HEADER_LENGTH);
  header[0] = SINGLE_OBJECT_MARKER[0];
  header[1] = SINGLE_OBJECT_MARKER[1];
  header.writeBigUInt64LE(fingerprint, 2);
  return header;
}

/** Checks the marker and the header's length; throws `BadMagicError` or `TruncatedMessageError`. */
export function assertSingleObjectHeader(bytes: Buffer): void {
  if (
    (bytes.length > 0 && bytes[0] !== SINGLE_OBJECT_MARKER[0]) ||
    (bytes.length > 1 && bytes[1] !== SINGLE_OBJECT_MARKER[1])
  ) {
    throw new BadMagicError('not Avro single-object encoding: the message does not start with C3 01');
  }
  if (bytes.length < SINGLE_OBJECT_HEADER_LENGTH) {
    throw new TruncatedMessageError(
      `the message has ${bytes.length} bytes, fewer than the ${SINGLE_OBJECT_HEADER_LENGTH}-byte header`,
    );
  }
}
