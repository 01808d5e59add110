/** Why a message could not be decoded: such a message is poison and goes to the dead-letter topic. */
export type CodecErrorCode = 'BAD_MAGIC' | 'UNKNOWN_FINGERPRINT' | 'TRUNCATED' | 'INVALID_BODY' | 'WRONG_TOPIC';

export class CodecError extends Error {
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

/** A record that does not match its schema, or that does not belong on the topic: never written. */
export class ContractViolationError extends Error {
  constructor(
    readonly record: string,
    readonly problems: string[],
  ) {
    super(`${record} violates the contract: ${problems.join('; ')}`);
    this.name = 'ContractViolationError';
  }
}
