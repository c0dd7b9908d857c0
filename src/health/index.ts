// index.ts — the checker for each health-check type.
import type { HealthType } from '../model/spec.js';
import type { Checker } from './checker.js';
import { execCheck } from './exec.js';
import { httpCheck } from './http.js';
import { tcpCheck } from './tcp.js';
import { udpCheck } from './udp.js';

const noneCheck: Checker = async () => ({ ok: true, message: 'not checked', durationMs: 0 });

export const CHECKERS: Record<HealthType, Checker> = {
  tcp: tcpCheck, http: httpCheck, udp: udpCheck, exec: execCheck, none: noneCheck,
};
