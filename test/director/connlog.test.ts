// Per-connection logs on the host (src/director/connlog.ts): the formatter on records built here
// byte by byte, the token bucket on a fake clock, the pairing of END and STATS records, the
// config keys and their errors, and a whole director on fake devices that writes one line per
// connection to a file (over the rate: suppressed and counted in /metrics), logs nothing for a
// service without connection_log, reopens the file on reload, and refuses to switch logs on
// by reload when it was started without the counters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../src/dataplane/abi.js';
import { parseConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/api/metrics.js';
import { controlPlane } from '../../src/director/control.js';
import {
  ConnectionLog, type ConnectionRecord, type LineSink, RateLimiter, formatConnection,
} from '../../src/director/connlog.js';
import { WlvsError } from '../../src/errors.js';
import { ipv4ToNumber } from '../../src/model/address.js';
import {
  CIP, RIPS, TAP_DIRECTOR, TUN_DIRECTOR, VIP, fromClient, fromServer, startDirector, supervise, until, webService,
} from './fixture.js';

/** endRecord builds an EVT_CONN_END record as the core lays it out (addresses in wire order) */
function endRecord(o: { fwd: number; proto?: number; reason: number; lip?: string; lport?: number }): Uint8Array {
  const r = new Uint8Array(abi.EVT_SIZE);
  const v = new DataView(r.buffer);
  r[abi.EVT_TYPE] = abi.EVT_CONN_END;
  r[abi.EVT_PROTO] = o.proto ?? abi.IPPROTO_TCP;
  r[abi.EVT_FWD] = o.fwd;
  v.setUint32(abi.EVT_CIP, ipv4ToNumber('192.0.2.7'), false);
  v.setUint16(abi.EVT_CPORT, 51234, false);
  v.setUint32(abi.EVT_VIP, ipv4ToNumber('198.51.100.1'), false);
  v.setUint16(abi.EVT_VPORT, 443, false);
  v.setUint32(abi.EVT_RIP, ipv4ToNumber('10.1.0.5'), false);
  v.setUint16(abi.EVT_RPORT, 8443, false);
  if (o.lip) v.setUint32(abi.EVT_LIP, ipv4ToNumber(o.lip), false);
  v.setUint16(abi.EVT_LPORT, o.lport ?? 0, false);
  r[abi.EVT_REASON] = o.reason;
  return r;
}

/** statsRecord builds an EVT_CONN_STATS record; `flags` goes in the top byte of bytes in */
interface Stats { pi: number; po: number; bi: bigint; bo: bigint; created: number; last: number; flags?: number }
function statsRecord(s: Stats) {
  const r = new Uint8Array(abi.EVT_SIZE);
  const v = new DataView(r.buffer, abi.EVT_STATS);
  r[abi.EVT_TYPE] = abi.EVT_CONN_STATS;
  v.setUint32(0, s.pi, true);
  v.setUint32(4, s.po, true);
  v.setBigUint64(8, s.bi | (BigInt(s.flags ?? 0) << 56n), true);
  v.setBigUint64(16, s.bo, true);
  v.setUint32(24, s.created, true);
  v.setUint32(28, s.last, true);
  return r;
}

const T0 = Date.parse('2026-12-02T04:00:00.000Z');
/** a context whose core clock 0 is T0 */
const ctx = (names: Record<string, string> = {}) => ({
  wallOf: (t: number) => T0 + t,
  now: () => T0 + 60_000,
  serviceName: (vip: string, vport: number, proto: string) => names[`${proto}:${vip}:${vport}`],
});

class MemorySink implements LineSink {
  lines: string[] = [];
  reopened = 0;
  closed = false;
  write(line: string): void { this.lines.push(line); }
  reopen(): void { this.reopened++; }
  close(): Promise<void> { this.closed = true; return Promise.resolve(); }
}

describe('connection log formatter', () => {
  it('one record an operator can read: addresses, mode, start, duration, counts each way, end reason', () => {
    const rec = formatConnection(endRecord({ fwd: abi.FWD_NAT, reason: abi.CEND_FIN }),
      statsRecord({ pi: 12, po: 30, bi: 1234n, bo: 45_678n, created: 5_000, last: 7_250,
        flags: abi.CSTF_LOGGED | abi.CSTF_FIN }),
      ctx({ 'tcp:198.51.100.1:443': 'https' }));
    const want: ConnectionRecord = {
      time: '2026-12-02T04:01:00.000Z', event: 'connection', service: 'https', protocol: 'tcp', mode: 'nat',
      client: '192.0.2.7:51234', vip: '198.51.100.1:443', real_server: '10.1.0.5:8443',
      start: '2026-12-02T04:00:05.000Z', duration_ms: 2250,
      packets_in: 12, bytes_in: 1234, packets_out: 30, bytes_out: 45_678, end_reason: 'fin',
    };
    assert.deepEqual(rec, want);
  });

  it('Full-NAT names the local address; the flags byte never leaks into bytes_in; the clock wraps', () => {
    const rec = formatConnection(endRecord({ fwd: abi.FWD_FNAT, reason: abi.CEND_RST, lip: '10.1.9.1', lport: 20001 }),
      statsRecord({ pi: 1, po: 0, bi: (1n << 40n) + 7n, bo: 0n, created: 0xffff_fff0, last: 0x10, flags: 0xff }),
      ctx());
    assert.equal(rec.local, '10.1.9.1:20001');
    assert.equal(rec.bytes_in, 2 ** 40 + 7);
    assert.equal(rec.duration_ms, 0x20, 'u32 clock wrap');
    assert.equal(rec.end_reason, 'rst');
    assert.equal(rec.service, '198.51.100.1:443/tcp', 'an unknown service is named by its address');
    assert.equal(rec.mode, 'fullnat');
  });

  it('names every end reason and mode; DR, TUN and UDP carry no local address', () => {
    const reasons = [abi.CEND_TIMEOUT, abi.CEND_FIN, abi.CEND_RST, abi.CEND_FLUSHED, abi.CEND_EVICTED].map((reason) =>
      formatConnection(endRecord({ fwd: abi.FWD_DR, reason }),
        statsRecord({ pi: 0, po: 0, bi: 0n, bo: 0n, created: 0, last: 0 }), ctx()).end_reason);
    assert.deepEqual(reasons, ['timeout', 'fin', 'rst', 'flushed', 'evicted']);
    for (const [fwd, mode] of [[abi.FWD_DR, 'dr'], [abi.FWD_TUN, 'tun']] as const) {
      const r = formatConnection(endRecord({ fwd, proto: abi.IPPROTO_UDP, reason: 0, lip: '10.9.9.9' }),
        statsRecord({ pi: 0, po: 0, bi: 0n, bo: 0n, created: 0, last: 0 }), ctx());
      assert.equal(r.mode, mode);
      assert.equal(r.protocol, 'udp');
      assert.equal(r.local, undefined);
    }
  });
});

describe('connection log rate limit', () => {
  it('a token bucket of `rate` a second: a burst of one second, then the rate, never more', () => {
    const b = new RateLimiter(10, 0);
    let ok = 0;
    for (let i = 0; i < 50; i++) if (b.take(0)) ok++;
    assert.equal(ok, 10, 'the burst');
    assert.equal(b.take(50), false, 'half a token after 50 ms');
    assert.equal(b.take(100), true, 'one token after 100 ms');
    ok = 0;
    for (let t = 100; t <= 2100; t += 10) if (b.take(t)) ok++;
    assert.ok(ok >= 19 && ok <= 21, `2 s at 10/s gave ${ok}`);
    b.setRate(1);
    assert.equal(b.take(2100), false);
    assert.equal(b.take(3100), true);
    assert.equal(b.take(1000), false, 'a clock going back gives no tokens');
  });

  it('ConnectionLog writes pairs, counts what the rate suppressed, skips other records and a stray STATS', async () => {
    const sink = new MemorySink();
    let now = T0;
    const log = new ConnectionLog({ path: 'unused', rateLimit: 2 }, { wallOf: (t) => T0 + t, now: () => now }, sink);
    log.services([{ name: 'web', vip: '198.51.100.1', port: 0, protocol: 'tcp' }]);
    const end = endRecord({ fwd: abi.FWD_NAT, reason: abi.CEND_TIMEOUT });
    const stats = statsRecord({ pi: 1, po: 1, bi: 60n, bo: 60n, created: 0, last: 1 });
    const other = new Uint8Array(abi.EVT_SIZE);
    other[abi.EVT_TYPE] = abi.EVT_CREATED;
    log.onEvent(stats);
    assert.equal(sink.lines.length, 0, 'a STATS record without its END is no line');
    for (let i = 0; i < 5; i++) {
      log.onEvent(other);
      log.onEvent(end);
      log.onEvent(stats);
    }
    assert.equal(sink.lines.length, 2);
    assert.deepEqual(log.stats, { written: 2, suppressed: 3, lost: 0 });
    const line = JSON.parse(sink.lines[0]) as ConnectionRecord;
    assert.equal(line.service, 'web', 'a port-0 service matches any port');
    assert.ok(sink.lines.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n')), 'one line each');
    now += 1000;
    log.onEvent(end);
    log.onEvent(stats);
    assert.equal(log.stats.written, 3, 'tokens come back with time');
    log.update({ path: 'unused', rateLimit: 2 });
    assert.equal(sink.reopened, 1, 'a reload with the same path reopens the file (rotation)');
    await log.close();
    assert.ok(sink.closed);
  });
});

describe('connection log configuration', () => {
  const base = `${TUN_DIRECTOR}services:${webService({ extra: 'connection_log: true' })}`;
  const errorOf = (text: string): string => {
    try {
      parseConfig(text, 'x.yaml');
    } catch (err) {
      assert.ok(WlvsError.is(err));
      return err.message;
    }
    assert.fail('expected an error');
  };

  it('services opt in; director.connection_log defaults to stdout at 1000 lines a second', () => {
    const s = parseConfig(base, 'x.yaml');
    assert.equal(s.services[0].connectionLog, true);
    assert.deepEqual(s.connectionLog, { path: 'stdout', rateLimit: 1000 });
    const off = parseConfig(`${TUN_DIRECTOR}services:${webService()}`, 'x.yaml');
    assert.equal(off.services[0].connectionLog, false);
    const set = parseConfig(base.replace('services:', '  connection_log: { path: /var/log/wlvs/conn.log, rate_limit: 50 }\nservices:'),
      'x.yaml');
    assert.deepEqual(set.connectionLog, { path: '/var/log/wlvs/conn.log', rateLimit: 50 });
  });

  it('refuses bad values with their place', () => {
    const dir = (v: string) => base.replace('services:', `  connection_log: ${v}\nservices:`);
    assert.match(errorOf(dir('{ rate_limit: 0 }')), /director\.connection_log\.rate_limit/);
    assert.match(errorOf(dir('{ rate_limit: 2.5 }')), /director\.connection_log\.rate_limit/);
    assert.match(errorOf(dir('{ path: stdout, format: text }')), /format/);
    assert.match(errorOf(dir('{ path: "" }')), /director\.connection_log\.path/);
    assert.match(errorOf(dir('true')), /director\.connection_log/);
    assert.match(errorOf(base.replace('connection_log: true', 'connection_log: yes please')), /services\[0\]\.connection_log/);
  });
});

describe('connection logs of a running director', () => {
  it('one line per connection to the file, rate-limited and counted in /metrics; a service without logs writes none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-connlog-'));
    const path = join(dir, 'conn.log');
    const yaml = `${TAP_DIRECTOR}  connection_log: { path: ${path}, rate_limit: 2 }\nservices:`
      + webService({ extra: 'connection_log: true' })
      + webService({ port: 81 }).replace('name: web', 'name: quiet');
    const f = await startDirector(yaml);
    const sup = supervise(f);
    try {
      const syn = (sport: number, dport = 80) => fromClient({ sport, dport, flags: 'S', payload: new Uint8Array(10) });
      // three connections to web, each: SYN (50 B), SYN-ACK (40 B), RST from the server
      for (const sport of [20001, 20002, 20003]) {
        assert.equal(f.send(0, [syn(sport)]).length, 1);
        f.send(1, [fromServer(0, { sport: 8080, dport: sport, flags: 'SA' })]);
        f.send(1, [fromServer(0, { sport: 8080, dport: sport, flags: 'R' })]);
      }
      f.send(0, [syn(20004, 81)]);
      // CLOSE lasts 10 s: the port's sweep ends them once the clock passed it
      f.clock.now += 3600_000;
      await until(() => f.dir.tables.sessionCount() === 0, 'the sweep');
      f.dir.drainEvents();
      await f.stop();
      const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ConnectionRecord);
      assert.equal(lines.length, 2, 'rate_limit 2: the third is suppressed');
      for (const l of lines) {
        assert.equal(l.service, 'web');
        assert.equal(l.vip, `${VIP}:80`);
        assert.equal(l.real_server, `${RIPS[0]}:8080`);
        assert.match(l.client, new RegExp(`^${CIP.replace(/\./g, '\\.')}:2000[123]$`));
        assert.deepEqual([l.packets_in, l.bytes_in, l.packets_out, l.bytes_out, l.end_reason], [1, 50, 2, 80, 'rst']);
        assert.equal(l.mode, 'nat');
      }
      const text = await createMetrics(controlPlane(sup)).metrics();
      assert.match(text, /wlvs_connection_log_lines_total\{outcome="written"\} 2/);
      assert.match(text, /wlvs_connection_log_lines_total\{outcome="suppressed"\} 1/);
      assert.match(text, /^wlvs_events_lost_total 0$/m);
    } finally {
      sup.stop();
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reload reopens the file (logrotate: move, then SIGHUP); switching logs on needs the counters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-connlog-'));
    const path = join(dir, 'conn.log');
    const yaml = `${TAP_DIRECTOR}  connection_log: { path: ${path} }\nservices:${webService({ extra: 'connection_log: true' })}`;
    const f = await startDirector(yaml);
    try {
      renameSync(path, `${path}.1`);
      await f.dir.reload(parseConfig(yaml, 'test.yaml'));
      f.send(0, [fromClient({ sport: 20010, dport: 80, flags: 'S' })]);
      f.send(1, [fromServer(0, { sport: 8080, dport: 20010, flags: 'R' })]);
      f.clock.now += 3600_000;
      await until(() => f.dir.tables.sessionCount() === 0, 'the sweep');
      f.dir.drainEvents();
      await f.dir.connectionLog!.close();
      assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 1, 'the line went to the new file');
    } finally {
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const plain = `${TAP_DIRECTOR}services:${webService()}`;
    const g = await startDirector(plain);
    try {
      assert.equal(g.dir.connectionLog, null);
      assert.equal(g.dir.tables.header(abi.HDR_CONNSTATS_BASE), 0, 'no byte spent without a logging service');
      await assert.rejects(g.dir.reload(parseConfig(`${TAP_DIRECTOR}services:${webService({ extra: 'connection_log: true' })}`,
        'test.yaml')), (e: unknown) => WlvsError.is(e) && e.code === 'WLVS_ERR_RESTART_NEEDED');
    } finally {
      await g.stop();
    }
  });

  it('a path that cannot be opened fails the start with a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-connlog-'));
    try {
      // a file where a directory should be
      writeFileSync(join(dir, 'file'), '');
      const yaml = `${TAP_DIRECTOR}  connection_log: { path: ${join(dir, 'file', 'conn.log')} }\nservices:`
        + webService({ extra: 'connection_log: true' });
      await assert.rejects(startDirector(yaml), /connection_log\.path: cannot open/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
