// The control plane end to end (NAT over TAP): a real server's HTTP process killed under a
// steady request loop and brought back, a weight reload under a long-lived connection, an
// invalid reload, runtime edits and the token, the CLI, and a hot-swap of the WASM core while a
// transfer runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_TOKEN, LAB_VIP_TAP, type RunningDirector, labConfig, rsGatewayFor, startDirector, startRealServer,
    startRealServers,
} from '../../src/lab/lab-director.js';
import { ctrDigest } from '../../src/lab/data-stream.js';
import { coreModulePath } from '../../src/dataplane/module.js';
import { api, apiWrite, get, sleep, tally } from './lib.js';
import { scriptCommand } from '../../src/sys/runtime.js';

const VIP = LAB_VIP_TAP;
const HEALTH = { type: 'http', path: '/health', interval: 1, timeout: 0.8, rise: 2, fall: 2 };
const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;

describe('control plane end to end', { timeout: 300_000 }, () => {
  let topo: Topology;
  let dir: RunningDirector;
  let servers: Map<string, ChildProcess>;
  const config = (token: string, weights = [1, 1, 1]) => labConfig(topo, 'tap', { forwarding: 'nat', scheduler: 'wrr', weights, health: HEALTH }, token);

  before(async () => {
    topo = await buildTopology({ rsGateway: rsGatewayFor('nat', 'tap'), tag: 'wc' });
    servers = await startRealServers(topo, { forwarding: 'nat', vip: VIP });
    dir = await startDirector(topo, (token) => config(token));
  });
  after(async () => {
    if (process.env.WLVS_E2E_LOG) (await import('node:fs')).writeFileSync(process.env.WLVS_E2E_LOG, dir?.output.join('\n') ?? '');
    await topo?.lab.destroy();
  });

  it('takes a dead real server out within fall × interval and brings it back after rise', async () => {
    for (let i = 0; i < 6; i++) await get(topo, `http://${VIP}/`);
    await topo.lab.stop(servers.get('rs2')!);
    const killedAt = performance.now();
    // requests keep flowing; only those sent to rs2 before it is detected may fail
    const failedAt: number[] = [];
    let served = 0;
    let detectedAt = 0;
    while (performance.now() - killedAt < 8000) {
      const sentAt = performance.now();
      try {
        await get(topo, `http://${VIP}/`);
        served++;
      } catch {
        failedAt.push(sentAt);
      }
      const web = await api(topo, dir, '/api/v1/services/web');
      if (!detectedAt && web.real_servers[1].health === 'down') detectedAt = performance.now();
      if (detectedAt && performance.now() - detectedAt > 1000) break;
    }
    assert.ok(detectedAt > 0, 'rs2 marked down');
    // fall × interval, plus one interval of phase and the check's own timeout
    assert.ok(detectedAt - killedAt < 2 * 1000 + 1000 + 800 + 500, `detected after ${Math.round(detectedAt - killedAt)} ms`);
    const web = await api(topo, dir, '/api/v1/services/web');
    assert.equal(web.real_servers[1].weight, 0, 'quiesced (inhibit_on_failure)');
    assert.ok(served > failedAt.length, `${served} served, ${failedAt.length} failed`);
    assert.deepEqual(failedAt.filter((t) => t > detectedAt), [], 'no request fails once the failure is detected');
    const after: string[] = [];
    for (let i = 0; i < 12; i++) after.push((await get(topo, `http://${VIP}/`)).server);
    assert.deepEqual(tally(after), { rs1: 6, rs3: 6 });
    assert.ok(dir.output.some((l) => l.includes('"event":"health"') && l.includes('"to":"down"') && l.includes('10.99.2.12')),
      'the transition is a log line');

    servers.set('rs2', await startRealServer(topo, topo.realServers[1]));
    const backDeadline = performance.now() + 8000;
    while (performance.now() < backDeadline && (await api(topo, dir, '/api/v1/services/web')).real_servers[1].health !== 'up') await sleep(100);
    const back: string[] = [];
    for (let i = 0; i < 9; i++) back.push((await get(topo, `http://${VIP}/`)).server);
    assert.deepEqual(tally(back), { rs1: 3, rs2: 3, rs3: 3 });
  });

  it('a weight reload keeps an open long-lived connection alive and intact', async () => {
    const size = 48 << 20;
    const download = topo.lab.exec(topo.client.role, 'sh', ['-c',
      `curl -s --max-time 60 --limit-rate 12M http://${VIP}/bytes/${size} | sha256sum`], 90_000);
    await sleep(1000);
    dir.writeConfig(config(dir.tokenFile, [3, 1, 1]));
    const r = await apiWrite(topo, dir, 'POST', '/api/v1/reload', undefined, LAB_TOKEN);
    assert.equal(r.status, 200);
    assert.ok(r.body.realServersChanged.includes('web/10.99.2.11:80'), JSON.stringify(r.body));
    assert.equal((await download).split(' ')[0], ctrDigest(size));
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push((await get(topo, `http://${VIP}/`)).server);
    assert.deepEqual(tally(seen), { rs1: 6, rs2: 2, rs3: 2 });
  });

  it('an invalid reload is refused with its errors; the old configuration keeps serving', async () => {
    const before = await api(topo, dir, '/api/v1/config');
    dir.writeConfig({ director: { devices: [] }, services: [{ vip: 'not-an-ip' }] });
    const r = await apiWrite(topo, dir, 'POST', '/api/v1/reload', undefined, LAB_TOKEN);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'WLVS_ERR_CONFIG_INVALID');
    assert.match(r.body.error.message, /wlvs\.yaml:\d+:\d+ services\[0\]\.vip: expected an IPv4 or IPv6 address/);
    assert.deepEqual(await api(topo, dir, '/api/v1/config'), before);
    assert.equal((await get(topo, `http://${VIP}/`)).client, topo.client.address);
    dir.writeConfig(config(dir.tokenFile, [3, 1, 1]));
  });

  it('refuses changes without the token, applies them with it (drain)', async () => {
    const path = '/api/v1/services/web/real-servers/10.99.2.13:80/drain';
    assert.equal((await apiWrite(topo, dir, 'POST', path, undefined, false)).status, 401);
    assert.equal((await apiWrite(topo, dir, 'POST', path, undefined, 'wrong-token-xyz')).status, 401);
    const ok = await apiWrite(topo, dir, 'POST', path, undefined, LAB_TOKEN);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push((await get(topo, `http://${VIP}/`)).server);
    assert.ok(!seen.includes('rs3'), seen.join(','));
    const bad = await apiWrite(topo, dir, 'POST', '/api/v1/services/web/real-servers', { address: '10.99.2.300' }, LAB_TOKEN);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /IPv4/);
  });

  it('the CLI shows ipvsadm-like tables, sessions and Prometheus metrics', async () => {
    const env = ['env', `WLVS_API=${dir.adminUrl}`, ...scriptCommand(BIN, []).flat()];
    const status = await topo.lab.exec(topo.director.role, env[0], [...env.slice(1), 'status']);
    assert.match(status, /TCP {2}10\.99\.1\.100:80 wrr/);
    assert.match(status, /-> 10\.99\.2\.13:80 +Masq +0 /);
    const stats = await topo.lab.exec(topo.director.role, env[0], [...env.slice(1), 'status', '--stats']);
    assert.match(stats, /Conns +InPkts +OutPkts/);
    await get(topo, `http://${VIP}/`);
    const conns = await topo.lab.exec(topo.director.role, env[0], [...env.slice(1), 'conns', '--service', 'web']);
    assert.match(conns, /TCP +\d\d:\d\d +\w+ +10\.99\.1\.10:\d+ +10\.99\.1\.100:80 +10\.99\.2\.1[123]:80/);
    const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${dir.adminUrl}/metrics`]);
    assert.match(metrics, /wlvs_real_server_connections_total\{service="web",real_server="10\.99\.2\.11:80"\} \d+/);
    assert.match(metrics, /wlvs_batch_size_bucket\{le="256"\} \d+/);
    assert.match(metrics, /wlvs_real_server_up\{service="web",real_server="10\.99\.2\.12:80"\} 1/);
  });

  it('hot-swaps the WASM core while a transfer runs: no session lost, data intact', async () => {
    const size = 48 << 20;
    const download = topo.lab.exec(topo.client.role, 'sh', ['-c',
      `curl -s --max-time 60 --limit-rate 12M http://${VIP}/bytes/${size} | sha256sum`], 90_000);
    await sleep(1000);
    const debug = await apiWrite(topo, dir, 'POST', '/api/v1/core', { path: coreModulePath('debug') }, LAB_TOKEN);
    assert.equal(debug.status, 200, JSON.stringify(debug.body));
    assert.ok(debug.body.sessionsBefore >= 1, 'the transfer has a session');
    assert.equal(debug.body.sessions, debug.body.sessionsBefore);
    await sleep(500);
    const release = await apiWrite(topo, dir, 'POST', '/api/v1/core', { path: coreModulePath('release') }, LAB_TOKEN);
    assert.equal(release.status, 200);
    assert.equal((await download).split(' ')[0], ctrDigest(size));
    const broken = await apiWrite(topo, dir, 'POST', '/api/v1/core', { path: '/nonexistent.wasm' }, LAB_TOKEN);
    assert.equal(broken.status, 500);
    assert.equal((await get(topo, `http://${VIP}/`)).client, topo.client.address, 'still serving');
  });
});
