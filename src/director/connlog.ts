// connlog.ts — per-connection logs: one JSON line per connection of a service with
// `connection_log: true` when it ends. The core counts packets and bytes in its CONNSTATS region
// and writes an EVT_CONN_END + EVT_CONN_STATS pair to the event ring; this module turns drained
// pairs into lines, at most `rateLimit` a second (a token bucket; lines over it are counted in
// `dropped`, never queued), through an asynchronous pino destination so a slow disk never
// stalls the loop. Nothing here runs per packet.
import { pino, type Logger } from 'pino';
import * as abi from '../dataplane/abi.js';
import { eventView } from '../dataplane/tables.js';
import type { ConnectionLogSpec } from '../model/spec.js';

const MODES = ['nat', 'dr', 'tun', 'fullnat'];
const PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };
const REASONS: Record<number, string> = {
  [abi.CEND_TIMEOUT]: 'timeout', [abi.CEND_FIN]: 'fin', [abi.CEND_RST]: 'rst',
  [abi.CEND_FLUSHED]: 'flushed', [abi.CEND_EVICTED]: 'evicted',
};

/** One connection's line, without the time pino adds. */
export interface ConnectionRecord {
  service: string;
  client: string;
  real_server: string;
  local?: string;
  mode: string;
  duration_ms: number;
  packets_in: number;
  packets_out: number;
  bytes_in: number;
  bytes_out: number;
  end: string;
}

/** formatConnection decodes an EVT_CONN_END record and the EVT_CONN_STATS record after it. */
export function formatConnection(end: Uint8Array, stats: Uint8Array): ConnectionRecord {
  const e = eventView(end);
  const v = new DataView(stats.buffer, stats.byteOffset, stats.byteLength);
  const s = abi.EVT_STATS;
  const mode = MODES[e.forwarding] ?? String(e.forwarding);
  const rec: ConnectionRecord = {
    service: `${e.vip}:${e.vport}/${PROTOS[e.protocol] ?? e.protocol}`,
    client: `${e.client}:${e.clientPort}`,
    real_server: `${e.rip}:${e.rport}`,
    mode,
    // the core's clock is u32 milliseconds: the difference wraps with it
    duration_ms: (v.getUint32(s + abi.CST_LAST, true) - v.getUint32(s + abi.CST_CREATED, true)) >>> 0,
    packets_in: v.getUint32(s + abi.CST_PKTS_IN, true),
    packets_out: v.getUint32(s + abi.CST_PKTS_OUT, true),
    bytes_in: Number(v.getBigUint64(s + abi.CST_BYTES_IN, true)),
    bytes_out: Number(v.getBigUint64(s + abi.CST_BYTES_OUT, true)),
    end: REASONS[end[abi.EVT_REASON]] ?? 'unknown',
  };
  if (mode === 'fullnat' && e.lip) rec.local = `${e.lip}:${e.lport}`;
  return rec;
}

/** Token bucket: `rate` lines a second, bursts up to one second's worth. */
export class RateLimiter {
  #tokens: number;
  #last: number;
  constructor(readonly rate: number, now: number) {
    this.#tokens = rate;
    this.#last = now;
  }

  take(now: number): boolean {
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export class ConnectionLog {
  /** lines not written because of the rate limit (wlvs_connection_log_dropped_total) */
  dropped = 0;
  /** lines written (wlvs_connection_log_lines_total) */
  lines = 0;
  #pending: Uint8Array | null = null;
  #limiter: RateLimiter;
  #out: Logger;

  constructor(spec: ConnectionLogSpec, opts: { now?: () => number; logger?: Logger } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#limiter = new RateLimiter(spec.rateLimit, this.#now());
    this.#out = opts.logger ?? pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' },
      pino.destination({ dest: spec.path === 'stdout' ? 1 : spec.path, sync: false, mkdir: true }));
  }

  #now: () => number;

  /** onEvent takes every drained ring record; it keeps what belongs to connection logs. */
  onEvent(raw: Uint8Array): void {
    const type = raw[abi.EVT_TYPE];
    if (type === abi.EVT_CONN_END) {
      this.#pending = raw;
      return;
    }
    if (type !== abi.EVT_CONN_STATS) return;
    const end = this.#pending;
    this.#pending = null;
    // the core writes both records or neither: a stats record alone is a drained half, skip it
    if (!end) return;
    if (!this.#limiter.take(this.#now())) {
      this.dropped++;
      return;
    }
    this.lines++;
    this.#out.info(formatConnection(end, raw));
  }

  /** close flushes what pino still buffers. */
  close(): void {
    this.#out.flush();
  }
}
