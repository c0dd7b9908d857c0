// The real-server programs and the client helpers, through the lab's kernel router (no load
// balancer): who answered, the source seen, intact bulk data, late answers, UDP echo, SIGTERM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import { ctrDigest } from '../../src/lab/data-stream.js';
import { curlJson, download, httpGet } from '../e2e/lib/http.js';
import { parseEcho, udpRequest } from '../e2e/lib/udp.js';
import { startHttp, startUdp } from '../e2e/lib/servers.js';

describe('real-server programs', { timeout: 120_000 }, () => {
  let topo: Topology;
  let http1: ChildProcess;
  before(async () => {
    topo = await buildTopology({ realServers: 2, rsTxOff: true, clientAddresses: 2, tag: 'wls' });
    [http1] = await Promise.all([
      startHttp(topo, 'rs1', { name: 'rs1', port: 80 }),
      startHttp(topo, 'rs2', { name: 'rs2', port: 8080 }),
      startUdp(topo, 'rs1', { name: 'rs1', port: 5353 }),
    ]);
  });
  after(async () => {
    await topo?.destroy();
  });

  it('GET / names the server and the client address and port it saw', async () => {
    const a = await curlJson(topo, 'client', 'http://10.99.2.11/');
    assert.equal(a.server, 'rs1');
    assert.equal(a.client, '10.99.1.10');
    assert.ok(a.clientPort > 1023);
    const b = await curlJson(topo, 'client', 'http://10.99.2.12:8080/', { localAddress: topo.client.addresses[1] });
    assert.deepEqual([b.server, b.client], ['rs2', '10.99.1.11']);
  });

  it('GET /health answers 200', async () => {
    const r = await httpGet(topo, 'client', 'http://10.99.2.11/health');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-server'], 'rs1');
  });

  it('GET /bytes/N sends N bytes matching x-sha256 and the stream anyone can regenerate', async () => {
    const n = 5_000_001;
    const r = await download(topo, 'client', `http://10.99.2.11/bytes/${n}`);
    assert.ok(r.intact);
    assert.equal(r.bytes, n);
    assert.equal(r.sha256, ctrDigest(n));
  });

  it('GET /slow?ms= answers late', async () => {
    const r = await httpGet(topo, 'client', 'http://10.99.2.11/slow?ms=400');
    assert.equal(r.status, 200);
    assert.ok(r.ms >= 390, `answered after ${r.ms} ms`);
    await assert.rejects(httpGet(topo, 'client', 'http://10.99.2.11/slow?ms=3000', { timeoutMs: 300 }), /timed out/);
  });

  it('unknown paths get 404', async () => {
    assert.equal((await httpGet(topo, 'client', 'http://10.99.2.11/nope')).status, 404);
  });

  it('rs-udp echoes server|client|payload', async () => {
    const a = parseEcho(await udpRequest(topo, 'client', '10.99.2.11', 5353, 'hello|world'));
    assert.deepEqual(a, { server: 'rs1', client: '10.99.1.10', payload: 'hello|world' });
    await assert.rejects(udpRequest(topo, 'client', '10.99.2.12', 5353, 'x', { timeoutMs: 200, tries: 2 }), /no answer after 2/);
  });

  it('rs-http exits 0 on SIGTERM, even with a request in flight', async () => {
    const slow = httpGet(topo, 'client', 'http://10.99.2.11/slow?ms=10000', { timeoutMs: 8000 }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    assert.equal(await topo.lab.stop(http1, 5000), 0);
    assert.ok(Date.now() - t0 < 3000);
    assert.ok((await slow) instanceof Error);
  });
});
