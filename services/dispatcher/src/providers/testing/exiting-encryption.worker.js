'use strict';
// For specs: the encryption pool's worker (../web-push-encryption.worker.js), except that a batch holding a payload
// with CRASH_MARKER ends its thread, as a crash would (plain JavaScript for the reason the real worker is).
const encryptBatch = require('../web-push-encryption.worker.js');

const CRASH_MARKER = 'crash-the-encryption-worker';

module.exports = function exitingEncryptBatch(requests) {
  if (requests.some((request) => request.payload.includes(CRASH_MARKER))) process.exit(1);
  return encryptBatch(requests);
};
