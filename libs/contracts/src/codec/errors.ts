/** Why a message could not be decoded. */
export type CodecErrorCode = 'BAD_MAGIC' | 'UNKNOWN_FINGERPRINT' | 'TRUNCATED' | 'INVALID_BODY' | 'WRONG_TOPIC';

/**
 * A message that cannot be decoded: poison, to be dead-lettered (DESIGN §3.5), as opposed to a bug in the consumer.
 * Catch this base class; `code` says which of the subclasses it is.
 */
export abstract class CodecError extends Error {
  abstract readonly code: CodecErrorCode;
}

/** The bytes do not start with the single-object marker `C3 01`: not Avro single-object encoding. */
export class BadMagicError extends CodecError {
  readonly code = 'BAD_MAGIC';
  override readonly name = 'BadMagicError';
}

/** The writer schema's fingerprint is not one of the schemas under `schemas/` (or the producer is ahead of us). */
export class UnknownFingerprintError extends CodecError {
  readonly code = 'UNKNOWN_FINGERPRINT';
  override readonly name = 'UnknownFingerprintError';

  constructor(readonly fingerprint: bigint) {
    super(`no schema has the fingerprint ${fingerprint.toString(16).padStart(16, '0')}`);
  }
}

/** The message ends before its header or its body does. */
export class TruncatedMessageError extends CodecError {
  readonly code = 'TRUNCATED';
  override readonly name = 'TruncatedMessageError';
}

/** The body does not decode with the writer schema: an enum or union index out of range, trailing bytes, … */
export class InvalidBodyError extends CodecError {
  readonly code = 'INVALID_BODY';
  override readonly name = 'InvalidBodyError';
}

/** A well-formed record of a type the topic does not carry. */
export class WrongTopicError extends CodecError {
  readonly code = 'WRONG_TOPIC';
  override readonly name = 'WrongTopicError';

  constructor(
    readonly record: string,
    readonly recordTopic: string,
    readonly topic: string,
  ) {
    super(`${record} is a record of ${recordTopic}, not of ${topic}`);
  }
}

/**
 * An event that cannot be encoded for its topic: a field that does not match the schema, or a record the topic does not
 * carry. Thrown by the encoder (so by every producer) before anything is written. The message names the fields, never
 * their values (tokens). Not to be confused with `RejectedEventError` (@push/event-bus): a projection rejecting an event
 * it consumed.
 */
export class UnencodableEventError extends Error {
  override readonly name = 'UnencodableEventError';

  constructor(
    readonly topic: string,
    readonly record: string,
    /** One line per offending field: its path (`message.priority`, `(record)` for the event itself) and what is wrong. */
    readonly problems: readonly string[],
  ) {
    super(`${record} on ${topic} violates the contract: ${problems.join('; ')}`);
  }
}
