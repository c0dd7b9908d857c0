// The admin API alone, over a stub ControlPlane, on a loopback port: every route, the token,
// error codes and HTTP statuses, request-body checks, and /metrics names, labels and values.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AdminServer } from '../../src/api/server.js';
import { WlvsError, type ErrorCode } from '../../src/errors.js';
import { REPORT, SESSION, type Stub, stub } from './stub.js';

const TOKEN = 'test-token-0123456789';
const quiet = pino({ level: 'silent' });

let tmp: string;
let tokenFile: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'wlvs-api-'));
  tokenFile = join(tmp, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field
type Json = any;
interface Answer { status: number; type: string | null; body: Json; text: string }
interface CallOptions { body?: unknown; raw?: string; token?: string }
interface Served {
  call: (method: string, path: string, o?: CallOptions) => Promise<Answer>;
  close: () => Promise<void>;
}

async function serve(s: Stub, token: string | null): Promise<Served> {
  const api = new AdminServer(s.cp, quiet);
  await api.listen('127.0.0.1:0', token);
  const base = `http://${api.address}`;
  return {
    call: async (method, path, o = {}) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
        body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
      });
      const text = await res.text();
      let body: unknown = null;
      try { body = JSON.parse(text); } catch { /* /metrics is text */ }
      return { status: res.status, type: res.headers.get('content-type'), body, text };
    },
    close: () => api.close(),
  };
}

describe('admin API', () => {
  let s: Stub;
  let srv: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    s = stub();
    srv = await serve(s, tokenFile);
  });
  after(() => srv.close());

  it('GET /api/v1/status: totals, devices, sessions, failover role and services', async () => {
    const r = await srv.call('GET', '/api/v1/status');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    const b = r.body;
    assert.equal(b.uptime_s, 12);
    assert.deepEqual(b.sessions, { count: 3, capacity: 1024 });
    assert.deepEqual(b.packets, {
      received: 100, forwarded: 90, host: 4, dropped: 6, icmp_relayed: 1, frag_needed_sent: 0,
    });
    assert.deepEqual(b.connections, { created: 7, expired: 3 });
    assert.deepEqual(b.drops, { malformed: 2, no_service: 4 }, 'reasons that never happened are left out');
    assert.deepEqual(b.ha, { state: 'master', priority: 150 });
    assert.equal(b.port.rxFrames, 100);
    assert.equal(b.batches.frames, 100);
    assert.equal(b.host_stack.echoAnswered, 3);
    assert.equal(b.runtime_edits, 2);
    assert.equal(b.devices[0].name, 'ext0');
    assert.equal(b.services.length, 1);
  });

  it('GET /api/v1/services and /services/:name: ipvsadm columns, health, sorry server, 404 for an unknown name', async () => {
    const list = await srv.call('GET', '/api/v1/services');
    assert.equal(list.status, 200);
    const one = await srv.call('GET', '/api/v1/services/web');
    assert.deepEqual(one.body, list.body[0]);
    const w = one.body;
    assert.deepEqual(
      [w.name, w.protocol, w.vip, w.port, w.scheduler, w.forwarding, w.persistence, w.persistence_netmask],
      ['web', 'tcp', '10.0.1.100', 80, 'wrr', 'nat', 60, 24]);
    assert.deepEqual(w.stats, { conns: 7, inpkts: 70, outpkts: 56, inbytes: 7000, outbytes: 5600 });
    assert.deepEqual(w.rates, { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
    const [a, b, out, sorry] = w.real_servers;
    assert.deepEqual(
      [a.address, a.port, a.weight, a.configured_weight, a.health, a.active, a.inactive, a.persistent, a.resolved],
      ['10.0.2.11', 8080, 2, 2, 'up', 2, 3, 1, true]);
    assert.deepEqual(a.stats, { conns: 5, inpkts: 50, outpkts: 40, inbytes: 5000, outbytes: 4000 });
    assert.deepEqual([b.health, b.weight, b.resolved], ['down', 0, false]);
    assert.deepEqual([out.health, out.weight], ['down', 0]);
    assert.deepEqual(out.stats, { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 }, 'no slot: zeros');
    assert.deepEqual([sorry.health, sorry.sorry, sorry.active], ['sorry', true, 1]);
    assert.deepEqual(sorry.stats, { conns: 1, inpkts: 10, outpkts: 8, inbytes: 1000, outbytes: 800 });
    const none = await srv.call('GET', '/api/v1/services/nope');
    assert.equal(none.status, 404);
    assert.deepEqual(none.body.error, { code: 'WLVS_ERR_NOT_FOUND', message: 'no service named "nope"' });
  });

  it('GET /api/v1/sessions passes the filter, cursor and a bounded limit; rows as ipvsadm -Lnc', async () => {
    const r = await srv.call('GET', '/api/v1/sessions?service=web&real_server=10.0.2.11:8080&client=10.0.1.10&state=established&protocol=tcp&cursor=5&limit=20');
    assert.equal(r.status, 200);
    assert.deepEqual(s.queries.at(-1), {
      q: { service: 'web', realServer: '10.0.2.11:8080', client: '10.0.1.10', state: 'established', protocol: 'tcp' }, cursor: 5, limit: 20,
    });
    assert.equal(r.body.next, 17);
    assert.deepEqual(r.body.items[0], {
      protocol: 'tcp', state: 'ESTABLISHED', template: false, client: SESSION.client, client_port: 40000, vip: SESSION.vip,
      vport: 80, rip: SESSION.rip, rport: 8080, lip: null, lport: null, service: 'web', expires_in_s: 900,
    });
    assert.equal(r.body.items[1].expires_in_s, 0, 'an overdue session shows 0, not a negative time');
    await srv.call('GET', '/api/v1/sessions');
    const none = {
      service: undefined, realServer: undefined, client: undefined, state: undefined, protocol: undefined,
    };
    assert.deepEqual(s.queries.at(-1), { q: none, cursor: 0, limit: 100 });
    await srv.call('GET', '/api/v1/sessions?limit=0');
    assert.equal(s.queries.at(-1)!.limit, 1);
    await srv.call('GET', '/api/v1/sessions?limit=99999999');
    assert.equal(s.queries.at(-1)!.limit, 10_000);
  });

  it('GET /api/v1/config as an object or as YAML', async () => {
    assert.deepEqual((await srv.call('GET', '/api/v1/config')).body, { director: { sessions: 1024 }, services: [] });
    assert.deepEqual((await srv.call('GET', '/api/v1/config?format=yaml')).body, { yaml: 'director:\n  sessions: 1024\n' });
  });

  it('refuses every write without the right bearer token (401), before reading the body', async () => {
    const writes: [string, string][] = [
      ['POST', '/api/v1/reload'], ['POST', '/api/v1/core'], ['POST', '/api/v1/services'], ['PUT', '/api/v1/services/web'],
      ['DELETE', '/api/v1/services/web'], ['POST', '/api/v1/services/web/real-servers'],
      ['PUT', '/api/v1/services/web/real-servers/10.0.2.11:8080'], ['DELETE', '/api/v1/services/web/real-servers/10.0.2.11:8080'],
      ['POST', '/api/v1/services/web/real-servers/10.0.2.11:8080/drain'],
    ];
    for (const [method, path] of writes) {
      for (const token of [undefined, 'wrong-token-xyz', `${TOKEN}x`]) {
        const r = await srv.call(method, path, { token, raw: 'not json' });
        assert.equal(r.status, 401, `${method} ${path} with ${token}`);
        assert.equal(r.body.error.code, 'WLVS_ERR_UNAUTHORIZED');
        assert.equal(r.body.error.message, 'a valid bearer token is required for changes');
      }
    }
    assert.equal(s.edits.length + s.reloads.length + s.swaps.length, 0, 'nothing reached the control plane');
  });

  it('POST /api/v1/reload returns the report; a refused reload is 400 with its details', async () => {
    const ok = await srv.call('POST', '/api/v1/reload', { token: TOKEN });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, REPORT);
    assert.deepEqual(s.reloads, ['api']);
    s.failNext(new WlvsError('WLVS_ERR_CONFIG_INVALID', 'invalid configuration:\nx.yaml:3:5 services[0].vip: expected an IPv4 address',
      { issues: [{ line: 3 }] }));
    const bad = await srv.call('POST', '/api/v1/reload', { token: TOKEN });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.error, {
      code: 'WLVS_ERR_CONFIG_INVALID', message: 'invalid configuration:\nx.yaml:3:5 services[0].vip: expected an IPv4 address',
      details: { issues: [{ line: 3 }] },
    });
  });

  it('POST /api/v1/core hot-swaps the core and says how many sessions were kept', async () => {
    const ok = await srv.call('POST', '/api/v1/core', { token: TOKEN, body: { path: '/x/core.wasm' } });
    assert.deepEqual([ok.status, ok.body], [200, { swapped: '/x/core.wasm', sessionsBefore: 3, sessions: 3 }]);
    const noPath = await srv.call('POST', '/api/v1/core', { token: TOKEN, body: { file: 'x' } });
    assert.deepEqual([noPath.status, noPath.body.error.code], [400, 'WLVS_ERR_USAGE']);
    s.failNext(new WlvsError('WLVS_ERR_CORE_LOAD', 'cannot load WASM core /nonexistent.wasm: ENOENT'));
    const broken = await srv.call('POST', '/api/v1/core', { token: TOKEN, body: { path: '/nonexistent.wasm' } });
    assert.deepEqual([broken.status, broken.body.error.code], [500, 'WLVS_ERR_CORE_LOAD']);
    assert.deepEqual(s.swaps, ['/x/core.wasm', '/nonexistent.wasm']);
  });

  it('maps the service and real-server routes to runtime edits, URL-decoded, with a reason', async () => {
    const calls: [string, string, unknown][] = [
      ['POST', '/api/v1/services', { name: 'ssh', vip: '10.0.1.100', port: 22 }],
      ['PUT', '/api/v1/services/web', { scheduler: 'rr' }],
      ['DELETE', '/api/v1/services/my%20svc', undefined],
      ['POST', '/api/v1/services/web/real-servers', { address: '10.0.2.13', port: 8080 }],
      ['PUT', '/api/v1/services/web/real-servers/10.0.2.11%3A8080', { weight: 4 }],
      ['DELETE', '/api/v1/services/web/real-servers/10.0.2.12', undefined],
      ['POST', '/api/v1/services/web/real-servers/10.0.2.11:8080/drain', undefined],
    ];
    s.edits.length = 0;
    for (const [method, path, body] of calls) {
      const r = await srv.call(method, path, { token: TOKEN, body });
      assert.deepEqual([r.status, r.body], [200, REPORT], `${method} ${path}`);
    }
    assert.deepEqual(s.edits, [
      { change: { op: 'add-service', service: { name: 'ssh', vip: '10.0.1.100', port: 22 } }, reason: 'api: add service' },
      { change: { op: 'edit-service', name: 'web', patch: { scheduler: 'rr' } }, reason: 'api: edit web' },
      { change: { op: 'delete-service', name: 'my svc' }, reason: 'api: delete my svc' },
      { change: { op: 'add-real-server', service: 'web', realServer: { address: '10.0.2.13', port: 8080 } }, reason: 'api: add real server to web' },
      { change: { op: 'edit-real-server', service: 'web', key: '10.0.2.11:8080', patch: { weight: 4 } }, reason: 'api: edit web/10.0.2.11:8080' },
      { change: { op: 'delete-real-server', service: 'web', key: '10.0.2.12' }, reason: 'api: delete web/10.0.2.12' },
      { change: { op: 'drain-real-server', service: 'web', key: '10.0.2.11:8080' }, reason: 'api: drain web/10.0.2.11:8080' },
    ]);
  });

  it('GET /api/v1/cluster; drain and resume a cluster member with the token, the deadline checked', async () => {
    assert.deepEqual((await srv.call('GET', '/api/v1/cluster')).body, { member: 'd1', state: 'active' });
    assert.equal((await srv.call('POST', '/api/v1/cluster/drain', { body: { deadline: 30 } })).status, 401);
    const d = await srv.call('POST', '/api/v1/cluster/drain', { body: { deadline: 30 }, token: TOKEN });
    assert.equal(d.status, 200);
    assert.equal(d.body.state, 'draining');
    assert.equal((await srv.call('POST', '/api/v1/cluster/drain', { body: {}, token: TOKEN })).status, 200);
    for (const bad of [0, -1, 'soon', 1e6]) {
      assert.equal((await srv.call('POST', '/api/v1/cluster/drain', { body: { deadline: bad }, token: TOKEN })).status, 400, String(bad));
    }
    assert.deepEqual(s.drains, [30, undefined]);
    assert.equal((await srv.call('POST', '/api/v1/cluster/resume', { token: TOKEN })).body.state, 'active');
    assert.equal(s.resumes, 1);
    s.failNext(new WlvsError('WLVS_ERR_NOT_FOUND', 'this director is not a cluster member'));
    assert.equal((await srv.call('POST', '/api/v1/cluster/resume', { token: TOKEN })).status, 404);
  });

  it('answers each error code with its HTTP status; anything unregistered is WLVS_ERR_INTERNAL, 500', async () => {
    const cases: [unknown, number, ErrorCode][] = [
      [new WlvsError('WLVS_ERR_NOT_FOUND', 'x'), 404, 'WLVS_ERR_NOT_FOUND'],
      [new WlvsError('WLVS_ERR_CONFLICT', 'x'), 409, 'WLVS_ERR_CONFLICT'],
      [new WlvsError('WLVS_ERR_CONFIG_INVALID', 'x'), 400, 'WLVS_ERR_CONFIG_INVALID'],
      [new WlvsError('WLVS_ERR_CONFIG_READ', 'x'), 400, 'WLVS_ERR_CONFIG_READ'],
      [new WlvsError('WLVS_ERR_USAGE', 'x'), 400, 'WLVS_ERR_USAGE'],
      [new WlvsError('WLVS_ERR_CAPACITY', 'x'), 507, 'WLVS_ERR_CAPACITY'],
      [new WlvsError('WLVS_ERR_NATIVE', 'x'), 500, 'WLVS_ERR_NATIVE'],
      [new RangeError('x'), 500, 'WLVS_ERR_INTERNAL'],
    ];
    for (const [err, status, code] of cases) {
      s.failNext(err);
      const r = await srv.call('PUT', '/api/v1/services/web', { token: TOKEN, body: {} });
      assert.deepEqual([r.status, r.body.error.code, r.body.error.message], [status, code, 'x']);
    }
  });

  it('checks request bodies and routes', async () => {
    const notJson = await srv.call('POST', '/api/v1/services', { token: TOKEN, raw: '{"name":' });
    assert.deepEqual([notJson.status, notJson.body.error.message], [400, 'the request body is not valid JSON']);
    const array = await srv.call('POST', '/api/v1/services', { token: TOKEN, body: [1] });
    assert.deepEqual([array.status, array.body.error.message], [400, 'the request body must be a JSON object']);
    const big = await srv.call('POST', '/api/v1/services', { token: TOKEN, raw: `{"x":"${'a'.repeat(1 << 20)}"}` }).catch(() => null);
    assert.ok(big === null || big.status === 400, 'a body over 1 MiB is refused');
    const nowhere = await srv.call('GET', '/api/v1/nowhere');
    assert.deepEqual([nowhere.status, nowhere.body.error], [404, { code: 'WLVS_ERR_NOT_FOUND', message: 'no route GET /api/v1/nowhere' }]);
    const method = await srv.call('GET', '/api/v1/reload');
    assert.equal(method.status, 404);
  });

  it('GET /metrics: every family with its labels and the control plane\'s values', async () => {
    const r = await srv.call('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type!, /^text\/plain; version=0\.0\.4/);
    const lines = new Set(r.text.split('\n'));
    const expect = [
      'wlvs_service_connections_total{service="web"} 7',
      'wlvs_service_packets_total{service="web",direction="in"} 70',
      'wlvs_service_packets_total{service="web",direction="out"} 56',
      'wlvs_service_bytes_total{service="web",direction="in"} 7000',
      'wlvs_service_bytes_total{service="web",direction="out"} 5600',
      'wlvs_real_server_connections_total{service="web",real_server="10.0.2.11:8080"} 5',
      'wlvs_real_server_connections_total{service="web",real_server="10.0.2.12:8080"} 2',
      'wlvs_real_server_packets_total{service="web",real_server="10.0.2.11:8080",direction="in"} 50',
      'wlvs_real_server_packets_total{service="web",real_server="10.0.2.11:8080",direction="out"} 40',
      'wlvs_real_server_bytes_total{service="web",real_server="10.0.2.12:8080",direction="out"} 1600',
      'wlvs_real_server_active_connections{service="web",real_server="10.0.2.11:8080"} 2',
      'wlvs_real_server_inactive_connections{service="web",real_server="10.0.2.11:8080"} 3',
      'wlvs_real_server_persistent_templates{service="web",real_server="10.0.2.11:8080"} 1',
      'wlvs_real_server_weight{service="web",real_server="10.0.2.11:8080"} 2',
      'wlvs_real_server_weight{service="web",real_server="10.0.2.12:8080"} 0',
      'wlvs_real_server_up{service="web",real_server="10.0.2.11:8080"} 1',
      'wlvs_real_server_up{service="web",real_server="10.0.2.12:8080"} 0',
      'wlvs_real_server_up{service="web",real_server="10.0.2.15:8080"} 1',
      'wlvs_real_server_connections_total{service="web",real_server="10.0.2.15:8080"} 1',
      'wlvs_drops_total{reason="malformed"} 2',
      'wlvs_drops_total{reason="no_service"} 4',
      'wlvs_drops_total{reason="table_full"} 0',
      'wlvs_table_lock_waits_total 5',
      'wlvs_table_lock_sleeps_total 1',
      'wlvs_packets_total{outcome="received"} 100',
      'wlvs_packets_total{outcome="forwarded"} 90',
      'wlvs_packets_total{outcome="host"} 4',
      'wlvs_packets_total{outcome="dropped"} 6',
      'wlvs_fullnat_tuples_total{event="reused"} 5',
      'wlvs_fullnat_tuples_total{event="quarantined"} 2',
      'wlvs_fullnat_tuples_total{event="probe_busy"} 1',
      'wlvs_client_address_total{event="proxy_sent"} 4',
      'wlvs_client_address_total{event="toa_added"} 3',
      'wlvs_client_address_total{event="toa_no_room"} 0',
      'wlvs_fullnat_lip_tuples{lip="10.0.2.201"} 6',
      'wlvs_sessions 3',
      'wlvs_sessions_capacity 1024',
      'wlvs_session_table_use_ratio 0.0029296875',
      'wlvs_device_frames_total{direction="rx"} 100',
      'wlvs_device_frames_total{direction="tx"} 90',
      'wlvs_ha_master 1',
      'wlvs_ha_sync_sessions_total{outcome="sent"} 11',
      'wlvs_ha_sync_sessions_total{outcome="received"} 12',
      'wlvs_ha_sync_sessions_total{outcome="imported"} 13',
      'wlvs_ha_sync_sessions_total{outcome="refused"} 14',
      'wlvs_ha_vrrp_adverts_total{direction="sent"} 21',
      'wlvs_ha_vrrp_adverts_total{direction="received"} 22',
      'wlvs_ha_vrrp_dropped_total{reason="ttl"} 4',
      'wlvs_ha_vrrp_dropped_total{reason="checksum"} 0',
      'wlvs_ha_sync_dropped_total{reason="foreign"} 1',
      'wlvs_ha_sync_dropped_total{reason="unauthenticated"} 2',
      'wlvs_cluster_bgp_session_up{neighbor="10.99.2.254"} 1',
      'wlvs_cluster_bgp_session_up{neighbor="10.99.2.253"} 0',
      'wlvs_cluster_routes_announced{kind="vip"} 1',
      'wlvs_cluster_routes_announced{kind="lip"} 1',
      'wlvs_cluster_routes_announced{kind="backup"} 1',
      'wlvs_cluster_state{state="active"} 1',
      'wlvs_cluster_state{state="draining"} 0',
      'wlvs_cluster_watchdog_stalls_total 2',
      'wlvs_cluster_bird_restarts_total 1',
      'wlvs_cluster_member_up{member="d2"} 1',
      'wlvs_cluster_member_up{member="d3"} 0',
      'wlvs_cluster_sync_sessions_total{member="d2",outcome="sent"} 5',
      'wlvs_cluster_sync_sessions_total{member="d2",outcome="imported"} 4',
      'wlvs_cluster_sync_sessions_total{member="d2",outcome="refused"} 2',
      'wlvs_cluster_sync_sessions_total{member="d3",outcome="received"} 0',
      'wlvs_cluster_sync_dropped_total{reason="unauthenticated"} 3',
      'wlvs_cluster_sync_dropped_total{reason="replayed"} 1',
      'wlvs_busy_poll_batches_total 5',
      'wlvs_io_syscalls_total 30',
      'wlvs_device_tx_drops_total 1',
      'wlvs_batch_size_bucket{le="1"} 2',
      'wlvs_batch_size_bucket{le="8"} 5',
      'wlvs_batch_size_bucket{le="16"} 10',
      'wlvs_batch_size_bucket{le="8192"} 10',
      'wlvs_batch_size_bucket{le="+Inf"} 10',
      'wlvs_batch_size_sum 100',
      'wlvs_batch_size_count 10',
      'wlvs_batch_process_seconds_sum 0.002',
      'wlvs_batch_process_seconds_count 10',
      '# TYPE wlvs_batch_size histogram',
      '# TYPE wlvs_real_server_up gauge',
      '# TYPE wlvs_drops_total counter',
    ];
    for (const l of expect) assert.ok(lines.has(l), `missing: ${l}`);
    assert.ok(!r.text.includes('10.0.2.14'), 'a server without a table slot has no series');
    const buckets = [...r.text.matchAll(/^wlvs_batch_process_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.deepEqual(buckets.slice(0, 4), [[1e-6, 0], [2e-6, 0], [4e-6, 4], [8e-6, 10]], 'cumulative, bounds in seconds');
  });
});

describe('admin API listening', () => {
  it('without a token file every write is refused, saying why', async () => {
    const s = stub();
    const srv = await serve(s, null);
    try {
      const r = await srv.call('POST', '/api/v1/reload', { token: TOKEN });
      assert.deepEqual([r.status, r.body.error.message], [401, 'changes are disabled: no token_file is configured']);
      assert.equal((await srv.call('GET', '/api/v1/status')).status, 200, 'reads stay open');
    } finally {
      await srv.close();
    }
  });

  it('refuses a short or unreadable token and an address in use, each with its code', async () => {
    const short = join(tmp, 'short');
    writeFileSync(short, 'abc\n');
    const code = (c: ErrorCode) => (e: unknown) => WlvsError.is(e) && e.code === c;
    await assert.rejects(new AdminServer(stub().cp, quiet).listen('127.0.0.1:0', short), code('WLVS_ERR_CONFIG_INVALID'));
    await assert.rejects(new AdminServer(stub().cp, quiet).listen('127.0.0.1:0', join(tmp, 'missing')), code('WLVS_ERR_CONFIG_READ'));
    const first = new AdminServer(stub().cp, quiet);
    await first.listen('127.0.0.1:0', null);
    try {
      await assert.rejects(new AdminServer(stub().cp, quiet).listen(first.address!, null), code('WLVS_ERR_ADMIN_LISTEN'));
    } finally {
      await first.close();
    }
  });
});
