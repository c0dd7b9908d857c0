// Each checker against real local servers: up, refusing, hanging (timeout), wrong status, wrong
// body, closed UDP port, exec exit codes and a hung command.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcp, type Server as TcpServer } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { DEFAULT_HEALTH } from '../../src/config/load.js';
import type { HealthSpec } from '../../src/model/spec.js';
import type { Target } from '../../src/health/checker.js';
import { CHECKERS } from '../../src/health/index.js';

function target(port: number, check: Partial<HealthSpec>): Target {
  return { id: 't', service: 'svc', address: '127.0.0.1', port, check: { ...DEFAULT_HEALTH, timeout: 0.5, ...check } };
}

async function probe(t: Target) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), t.check.timeout * 1000);
  const r = await CHECKERS[t.check.type](t, ctl.signal);
  clearTimeout(timer);
  return r;
}

describe('health checkers', () => {
  let http: Server;
  let httpPort: number;
  let hang: TcpServer;
  let hangPort: number;
  let udp: Socket;
  let udpPort: number;
  let closedPort: number;

  before(async () => {
    http = createServer((req, res) => {
      if (req.url === '/ok') res.end('all good');
      else if (req.url === '/teapot') { res.statusCode = 418; res.end('no'); }
      else if (req.url === '/slow') setTimeout(() => res.end('late'), 2000);
      else { res.statusCode = 404; res.end(); }
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as AddressInfo).port;
    hang = createTcp(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    hangPort = (hang.address() as AddressInfo).port;
    udp = createSocket('udp4');
    udp.on('message', (m, r) => udp.send(m, r.port, r.address));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    udpPort = udp.address().port;
    const tmp = createSocket('udp4');
    await new Promise<void>((r) => tmp.bind(0, '127.0.0.1', r));
    closedPort = tmp.address().port;
    tmp.close();
  });
  after(() => {
    http.closeAllConnections();
    http.close();
    hang.close();
    udp.close();
  });

  it('tcp: up when the connection completes, down when refused', async () => {
    assert.equal((await probe(target(httpPort, { type: 'tcp' }))).ok, true);
    const r = await probe(target(closedPort, { type: 'tcp' }));
    assert.equal(r.ok, false);
    assert.match(r.message, /ECONNREFUSED/);
  });

  it('tcp: a check port other than the server port', async () => {
    assert.equal((await probe(target(closedPort, { type: 'tcp', port: httpPort }))).ok, true);
  });

  it('http: status and body decide; a slow server times out', async () => {
    assert.equal((await probe(target(httpPort, { type: 'http', path: '/ok' }))).ok, true);
    assert.equal((await probe(target(httpPort, { type: 'http', path: '/ok', expectBody: 'good' }))).ok, true);
    const body = await probe(target(httpPort, { type: 'http', path: '/ok', expectBody: 'bad' }));
    assert.equal(body.ok, false);
    assert.match(body.message, /body lacks/);
    const status = await probe(target(httpPort, { type: 'http', path: '/teapot' }));
    assert.equal(status.ok, false);
    assert.match(status.message, /status 418/);
    assert.equal((await probe(target(httpPort, { type: 'http', path: '/teapot', expectStatus: [418] }))).ok, true);
    const t0 = performance.now();
    const slow = await probe(target(httpPort, { type: 'http', path: '/slow', timeout: 0.3 }));
    assert.equal(slow.ok, false);
    assert.match(slow.message, /timed out/);
    assert.ok(performance.now() - t0 < 1000, 'bounded by the timeout');
  });

  it('a server that accepts and never answers times out', async () => {
    const r = await probe(target(hangPort, { type: 'http', timeout: 0.3 }));
    assert.equal(r.ok, false);
    assert.match(r.message, /timed out/);
  });

  it('udp: a reply is up; a closed port (ICMP unreachable) is down', async () => {
    assert.equal((await probe(target(udpPort, { type: 'udp' }))).ok, true);
    const closed = await probe(target(closedPort, { type: 'udp' }));
    assert.equal(closed.ok, false);
    assert.match(closed.message, /unreachable|timed out/);
    assert.equal((await probe(target(closedPort, { type: 'udp', expectReply: false }))).ok, false);
  });

  it('exec: exit 0 is up, the target is in the environment, a hung command is killed', async () => {
    assert.equal((await probe(target(1234, { type: 'exec', command: 'test "$WLVS_RS_ADDRESS:$WLVS_RS_PORT:$WLVS_SERVICE" = 127.0.0.1:1234:svc' }))).ok, true);
    const f = await probe(target(1, { type: 'exec', command: 'exit 3' }));
    assert.equal(f.ok, false);
    assert.match(f.message, /exit 3/);
    const t0 = performance.now();
    const hung = await probe(target(1, { type: 'exec', command: 'sleep 30', timeout: 0.3 }));
    assert.equal(hung.ok, false);
    assert.ok(performance.now() - t0 < 1500);
  });
});

describe('health checkers over IPv6', () => {
  it('tcp, http (Host header in brackets) and udp probe a server at ::1', async () => {
    let host = '';
    const http = createServer((req, res) => { host = req.headers.host ?? ''; res.end('ok'); });
    await new Promise<void>((r) => http.listen(0, '::1', r));
    const udp = createSocket('udp6');
    udp.on('message', (m, r) => udp.send(m, r.port, r.address));
    await new Promise<void>((r) => udp.bind(0, '::1', r));
    try {
      const port = (http.address() as AddressInfo).port;
      const v6 = (p: number, check: Partial<HealthSpec>): Target => ({ ...target(p, check), address: '::1' });
      const t = await probe(v6(port, { type: 'tcp' }));
      assert.ok(t.ok, t.message);
      assert.match(t.message, /connected to \[::1\]:\d+/);
      const h = await probe(v6(port, { type: 'http', path: '/' }));
      assert.ok(h.ok, h.message);
      assert.equal(host, '[::1]');
      const u = await probe(v6(udp.address().port, { type: 'udp' }));
      assert.ok(u.ok, u.message);
    } finally {
      http.close();
      udp.close();
    }
  });
});
