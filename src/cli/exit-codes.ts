import type { PmgErrorCode } from '../errors/pmg-error.js';

/** Exit codes of the `pmg` command, one per error code (documented in the README). */
export const exitCodes: Record<PmgErrorCode, number> = {
  'invalid-argument': 2,
  'file-not-found': 3,
  'invalid-input': 4,
  'model-not-found': 5,
  'model-file-missing': 5,
  'model-layout': 5,
  offline: 6,
  'download-failed': 7,
  timeout: 7,
  'provider-call-failed': 8,
  'invalid-response': 8,
  'no-output-generated': 9,
  aborted: 130,
  unsupported: 10,
  'file-system': 74,
  'not-found': 3,
  'queue-full': 11,
  unauthorized: 12,
  internal: 70,
};
