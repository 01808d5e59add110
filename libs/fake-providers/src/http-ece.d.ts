// http_ece ships no types: the part of its API the fake Web Push service uses (RFC 8188 / RFC 8291 decryption).
declare module 'http_ece' {
  import { ECDH } from 'node:crypto';

  interface DecryptParams {
    version: 'aes128gcm' | 'aesgcm';
    /** The receiver's key pair (the "browser"); for aes128gcm the sender's public key is read from the header. */
    privateKey: ECDH;
    authSecret: Buffer | string;
  }

  export function decrypt(buffer: Buffer, params: DecryptParams): Buffer;
}
