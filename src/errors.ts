// errors.ts — the one error class of the host, with stable codes. A code names one kind of
// failure forever: never reuse or repurpose one; add a new code instead.

export const ERROR_CODES = {
  WLVS_ERR_CONFIG_INVALID: 'configuration does not validate',
  WLVS_ERR_CONFIG_READ: 'configuration file cannot be read or parsed',
  WLVS_ERR_CAPACITY: 'a table is full or a capacity is out of range',
  WLVS_ERR_CORE_LOAD: 'the WASM core cannot be loaded or does not fit the ABI',
  WLVS_ERR_WASM_TRAP: 'the WASM core trapped (debug build)',
  WLVS_ERR_DEVICE: 'a TUN/TAP device or raw socket cannot be opened or used',
  WLVS_ERR_NATIVE_MISSING: 'the native I/O addon is not built',
  WLVS_ERR_NATIVE: 'the native I/O addon refused a call (bad arguments or a layout that does not fit)',
  WLVS_ERR_POOL_EXHAUSTED: 'a Full-NAT pool has no free address:port',
  WLVS_ERR_NOT_FOUND: 'a named service or real server does not exist',
  WLVS_ERR_CONFLICT: 'an object with the same identity already exists',
  WLVS_ERR_COMMAND: 'an external command failed',
  WLVS_ERR_UNAUTHORIZED: 'the admin API refused a write without a valid token',
  WLVS_ERR_ADMIN_LISTEN: 'the admin API cannot listen on its configured address',
  WLVS_ERR_IMPORT: 'an ipvsadm or keepalived file cannot be imported',
  WLVS_ERR_USAGE: 'the command line or a request is not understood',
  WLVS_ERR_DEMO: 'a lab demo did not show what it should',
  WLVS_ERR_BIRD: 'the BIRD routing daemon cannot be started, reached or refused a command',
  WLVS_ERR_INTERNAL: 'an unexpected failure inside wlvs',
  WLVS_ERR_RESTART_NEEDED: 'the change needs memory the running director was laid out without: restart it',
  WLVS_ERR_ENGINE: 'the data-path worker failed, stopped or did not pause for a table change',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const BRAND = Symbol.for('wlvs.error');

/** WlvsError carries a stable code, a message for people and optional details for machines. */
export class WlvsError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'WlvsError';
    this.code = code;
    this.details = details;
  }

  static is(err: unknown): err is WlvsError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** isErrorCode tells whether `code` is registered above (e.g. a code read from an API answer). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * asWlvsError is for the places where an error reaches a user (CLI exit, API answer, start-up
 * log): a WlvsError passes through; anything else becomes one with `code` and its message, so
 * the user always sees a registered code.
 */
export function asWlvsError(err: unknown, code: ErrorCode = 'WLVS_ERR_INTERNAL'): WlvsError {
  if (WlvsError.is(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WlvsError(code, message);
}
