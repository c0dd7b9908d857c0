// connlog.ts — per-connection logs: one JSON line per connection of a service with
// `connection_log: true` when it ends. The core counts packets and bytes in its CONNSTATS region
// and writes an EVT_CONN_END + EVT_CONN_STATS pair to the event ring (assembly/connstats.ts);
// this module turns drained pairs into lines, at most `rateLimit` a second (a token bucket: lines
// over it are counted as suppressed, never queued), through an asynchronous file writer so a slow
// disk never stalls the control loop (a writer that falls 16 MiB behind drops, counted as lost).
// Nothing here runs per packet.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import * as abi from '../dataplane/abi.js';
import { eventView } from '../dataplane/tables.js';
import { WlvsError } from '../errors.js';
import { canonicalIp, formatIpv6, hostPort } from '../model/address.js';
import { type ConnectionLogSpec, serviceKey } from '../model/spec.js';

/** what director.connection_log is when the file leaves it out */
export const DEFAULT_CONNECTION_LOG: ConnectionLogSpec = { path: 'stdout', rateLimit: 1000 };
/** how far the writer may fall behind the disk before it drops lines */
const MAX_BUFFER = 16 * 1024 * 1024;
// indexed by the core's FWD_* numbers
const MODES: Record<number, string> = {
  [abi.FWD_NAT]: 'nat', [abi.FWD_DR]: 'dr', [abi.FWD_TUN]: 'tun', [abi.FWD_FNAT]: 'fullnat',
};
const PROTOS: Record<number, 'tcp' | 'udp'> = { [abi.IPPROTO_TCP]: 'tcp', [abi.IPPROTO_UDP]: 'udp' };
const REASONS: Record<number, string> = {
  [abi.CEND_TIMEOUT]: 'timeout', [abi.CEND_FIN]: 'fin', [abi.CEND_RST]: 'rst',
  [abi.CEND_FLUSHED]: 'flushed', [abi.CEND_EVICTED]: 'evicted',
};
// the bytes-in word carries CSTF_* flags in its top byte (assembly/abi.ts)
const BYTES_MASK = (1n << 56n) - 1n;

/** One connection's line. `in` is client -> real server, `out` the way back. */
export interface ConnectionRecord {
  time: string;
  event: 'connection';
  service: string;
  protocol: string;
  mode: string;
  client: string;
  vip: string;
  real_server: string;
  /** Full-NAT: the director's local address the real server saw */
  local?: string;
  start: string;
  duration_ms: number;
  packets_in: number;
  bytes_in: number;
  packets_out: number;
  bytes_out: number;
  end_reason: string;
}

/** What the formatter needs from the director: clock translation and service names. */
export interface ConnectionContext {
  /** epoch milliseconds of a data-path time (the core's u32 millisecond clock) */
  wallOf(coreMs: number): number;
  /** the configured name of the service a connection used */
  serviceName(vip: string, vport: number, protocol: string): string | undefined;
  /** epoch milliseconds now (the line's time) */
  now(): number;
}

/** formatConnection decodes an EVT_CONN_END record and the EVT_CONN_STATS record after it. */
export function formatConnection(end: Uint8Array, stats: Uint8Array, ctx: ConnectionContext): ConnectionRecord {
  const e = eventView(end);
  const v = new DataView(stats.buffer, stats.byteOffset, stats.byteLength);
  const s = abi.EVT_STATS;
  const mode = MODES[e.forwarding] ?? String(e.forwarding);
  const protocol = PROTOS[e.protocol] ?? String(e.protocol);
  const created = v.getUint32(s + abi.CST_CREATED, true);
  const rec: ConnectionRecord = {
    time: new Date(ctx.now()).toISOString(),
    event: 'connection',
    service: ctx.serviceName(e.vip, e.vport, protocol) ?? `${hostPort(e.vip, e.vport)}/${protocol}`,
    protocol,
    mode,
    // IPv6 (eventView reads the record's IPv6 block; a NAT64 server side stays IPv4) as [addr]:port
    client: hostPort(e.client, e.clientPort),
    vip: hostPort(e.vip, e.vport),
    real_server: hostPort(e.rip, e.rport),
    start: new Date(ctx.wallOf(created)).toISOString(),
    // the core's clock is u32 milliseconds: the difference wraps with it
    duration_ms: (v.getUint32(s + abi.CST_LAST, true) - created) >>> 0,
    packets_in: v.getUint32(s + abi.CST_PKTS_IN, true),
    bytes_in: Number(v.getBigUint64(s + abi.CST_BYTES_IN, true) & BYTES_MASK),
    packets_out: v.getUint32(s + abi.CST_PKTS_OUT, true),
    bytes_out: Number(v.getBigUint64(s + abi.CST_BYTES_OUT, true)),
    end_reason: REASONS[end[abi.EVT_REASON]] ?? 'unknown',
  };
  if (mode === 'fullnat') {
    // an IPv6 record's v4 LIP field may be 0 with its lip6 set (eventView then gives null)
    const v6 = (end[abi.EVT_PROTO] & abi.PROTO_V6) !== 0;
    const lip = e.lip ?? (v6 && end.subarray(abi.EVT_LIP6, abi.EVT_LIP6 + 16).some((x) => x !== 0)
      ? formatIpv6(end, abi.EVT_LIP6) : null);
    if (lip) rec.local = hostPort(lip, e.lport);
  }
  return rec;
}

/** Token bucket: `rate` lines a second, bursts up to one second's worth. */
export class RateLimiter {
  #tokens: number;
  #last: number;
  #rate: number;

  constructor(rate: number, now: number) {
    this.#rate = rate;
    this.#tokens = rate;
    this.#last = now;
  }

  /** setRate changes the rate (a reload); the tokens held are capped by it. */
  setRate(rate: number): void {
    this.#rate = rate;
    this.#tokens = Math.min(this.#tokens, rate);
  }

  /** take spends a token if there is one at time `now` (ms) and says whether it could. */
  take(now: number): boolean {
    this.#tokens = Math.min(this.#rate, this.#tokens + (Math.max(0, now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Where lines go: a file (append) or stdout; tests give their own. */
export interface LineSink {
  write(line: string): void;
  /** reopen the file at its path (after logrotate moved it) */
  reopen(): void;
  /** write what is buffered, then close the file */
  close(): Promise<void>;
}

type Destination = ReturnType<typeof pino.destination>;

/**
 * fileSink appends to `path` ('stdout' for fd 1). The file is opened synchronously, so a path
 * that cannot be opened fails the start (or the reload) with a clear error rather than
 * asynchronously later; writes are asynchronous. `onLost` hears lines dropped because the disk
 * fell MAX_BUFFER behind.
 */
/** checkLogPath fails with the error fileSink would give if `path` cannot be opened for appending. */
export function checkLogPath(path: string): void {
  if (path === 'stdout') return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a'));
  } catch (err) {
    throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `director.connection_log.path: cannot open ${path} for `
      + `appending: ${(err as Error).message}`);
  }
}

export function fileSink(path: string, onLost: (lines: number) => void): LineSink {
  const open = (): Destination => {
    let fd = 1;
    if (path !== 'stdout') {
      try {
        mkdirSync(dirname(path), { recursive: true });
        fd = openSync(path, 'a');
      } catch (err) {
        throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `director.connection_log.path: cannot open ${path} for `
          + `appending: ${(err as Error).message}`);
      }
    }
    const d = pino.destination({ fd, sync: false, maxLength: MAX_BUFFER });
    d.on('drop', (data: string) => onLost(data.split('\n').length - 1));
    // a write error (disk full, file removed under us) must not take the director down
    d.on('error', () => onLost(0));
    return d;
  };
  /** ends `d`: its buffered lines are written, then its file (never stdout) is closed; once */
  const ending = new WeakMap<Destination, Promise<void>>();
  const finish = (d: Destination): Promise<void> => ending.get(d) ?? ending.set(d, end(d)).get(d)!;
  const end = (d: Destination): Promise<void> => new Promise((resolve) => {
    // a disk that does not answer must not hold the stop forever
    const timer = setTimeout(resolve, 2000);
    const done = () => { clearTimeout(timer); resolve(); };
    if (path === 'stdout') {
      d.flush(() => done());
      return;
    }
    d.once('close', done);
    d.once('error', done);
    d.end();
  });
  let dest = open();
  return {
    write: (line) => { dest.write(line); },
    reopen: () => {
      if (path === 'stdout') return;
      const old = dest;
      dest = open();
      void finish(old);
    },
    close: () => finish(dest),
  };
}

/** Counts behind wlvs_connection_log_lines_total{outcome}. */
export interface ConnectionLogStats {
  /** lines handed to the writer */
  written: number;
  /** lines over director.connection_log.rate_limit, not written */
  suppressed: number;
  /** lines the writer dropped because the disk fell MAX_BUFFER behind */
  lost: number;
}

/**
 * ConnectionLog turns drained ring records into lines. onEvent takes every record the director
 * drains (session sync's too) and keeps the EVT_CONN_END + EVT_CONN_STATS pairs.
 */
export class ConnectionLog {
  readonly stats: ConnectionLogStats = { written: 0, suppressed: 0, lost: 0 };
  #spec: ConnectionLogSpec;
  #pending: Uint8Array | null = null;
  #limiter: RateLimiter;
  #sink: LineSink;
  #ctx: ConnectionContext;
  /** service names by key, kept after a service is removed: its flushed connections still end */
  #names = new Map<string, string>();

  constructor(spec: ConnectionLogSpec | undefined, ctx: Omit<ConnectionContext, 'serviceName'>, sink?: LineSink) {
    this.#spec = spec ?? DEFAULT_CONNECTION_LOG;
    this.#ctx = {
      ...ctx,
      serviceName: (vip, vport, protocol) => this.#names.get(serviceKey({ vip, port: vport, protocol }))
        ?? this.#names.get(serviceKey({ vip, port: 0, protocol })),
    };
    this.#limiter = new RateLimiter(this.#spec.rateLimit, ctx.now());
    this.#sink = sink ?? fileSink(this.#spec.path, (n) => { this.stats.lost += n; });
  }

  /** services remembers the names of the configured services (start and every reload). */
  services(list: readonly { name: string; vip: string; port: number; protocol: string }[]): void {
    // the canonical text form: eventView prints IPv6 addresses as RFC 5952
    for (const s of list) this.#names.set(serviceKey({ ...s, vip: canonicalIp(s.vip) }), s.name);
  }

  /**
   * update takes a reloaded director.connection_log: a new rate at once, a new path by opening
   * it; the same path is reopened, so SIGHUP after logrotate moved the file starts a new one.
   */
  update(spec: ConnectionLogSpec | undefined): void {
    const next = spec ?? DEFAULT_CONNECTION_LOG;
    this.#limiter.setRate(next.rateLimit);
    if (next.path !== this.#spec.path) {
      const sink = fileSink(next.path, (n) => { this.stats.lost += n; });
      void this.#sink.close();
      this.#sink = sink;
    } else {
      this.#sink.reopen();
    }
    this.#spec = next;
  }

  onEvent(raw: Uint8Array): void {
    const type = raw[abi.EVT_TYPE];
    if (type === abi.EVT_CONN_END) {
      this.#pending = raw;
      return;
    }
    if (type !== abi.EVT_CONN_STATS) return;
    const end = this.#pending;
    this.#pending = null;
    // the core publishes both records with one store (assembly/connstats.ts): never half a pair
    if (!end) return;
    if (!this.#limiter.take(this.#ctx.now())) {
      this.stats.suppressed++;
      return;
    }
    this.stats.written++;
    this.#sink.write(`${JSON.stringify(formatConnection(end, raw, this.#ctx))}\n`);
  }

  /** close writes what the writer still buffers and closes the file. */
  close(): Promise<void> {
    return this.#sink.close();
  }
}
