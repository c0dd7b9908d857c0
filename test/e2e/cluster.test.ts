// The cluster end to end: three directors, each a namespace with wlvs and its own BIRD 2,
// announce the VIP over BGP to a router namespace running BIRD with `merge paths`, which
// spreads the flows over them by ECMP (an L4 hash). TUN forwarding with Maglev and mid-flow
// acceptance: a flow that the router moves to another director continues on the same server.
// Checksummed downloads from fixed client ports (known 5-tuples) while a director is SIGKILLed,
// added back, drained and stalled.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLUSTER_VIP, CLUSTER_VIP6, type ClusterLab, buildClusterLab, carriers, downloads, ecmpChoices, startClusterServers,
} from '../../src/lab/cluster.js';
import { sleep } from './lib.js';

const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;
const CIP = '10.99.1.10';
const only = process.env.WLVS_E2E_ONLY?.split(',');
const SIZE = 24 << 20;
const RATE = '3M';

const tally = (xs: string[]) => xs.reduce<Record<string, number>>((o, x) => ({ ...o, [x]: (o[x] ?? 0) + 1 }), {});
const ports = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/**
 * eventually runs `check` until it passes or `ms` have gone by, then throws its last failure: a
 * member's BGP sessions and the router's best paths settle a little after the routes the start
 * waited for (the backup routes, the second address family's session)
 */
async function eventually(check: () => Promise<void>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(250);
    }
  }
}

describe('cluster of three directors (TUN, Maglev)', { timeout: 420_000, skip: only && !only.includes('cluster/tun') }, () => {
  let cl: ClusterLab;
  const addresses = () => cl.directors.filter((d) => d.child).map((d) => d.address);

  before(async () => {
    cl = await buildClusterLab({ tag: 'wct' });
    await startClusterServers(cl);
    for (const d of cl.directors) await cl.startDirector(d.name);
    await cl.waitNexthops(addresses(), CLUSTER_VIP, 20_000);
  });
  after(async () => {
    if (process.env.WLVS_E2E_LOG) {
      (await import('node:fs')).writeFileSync(process.env.WLVS_E2E_LOG, cl?.directors.map((d) => d.output.join('\n')).join('\n') ?? '');
    }
    await cl?.destroy();
  });

  it('every director has its BGP session up and announces the VIP; the router merges them', async () => {
    for (const d of cl.directors) {
      const s = await cl.api(d.name, '/api/v1/status');
      assert.equal(s.cluster.state, 'active');
      assert.equal(s.cluster.neighbors[0].up, true, JSON.stringify(s.cluster.neighbors));
      assert.deepEqual(s.cluster.announced, [{ prefix: `${CLUSTER_VIP}/32`, kind: 'vip' }]);
      const metrics = await cl.lab.exec(d.role, 'curl', ['-s', 'http://127.0.0.1:9180/metrics']);
      assert.match(metrics, /^wlvs_cluster_bgp_session_up\{neighbor="10\.99\.2\.254"\} 1$/m);
      assert.match(metrics, /^wlvs_cluster_routes_announced\{kind="vip"\} 1$/m);
      const text = await cl.lab.exec(d.role, process.execPath, [BIN, 'status']);
      assert.match(text, new RegExp(`cluster member ${d.name} \\(AS ${d.as}\\): ACTIVE`));
      assert.match(text, /bgp 10\.99\.2\.254 AS 65000: up/);
    }
    assert.deepEqual(await cl.nexthops(), addresses().sort());
  });

  it('flows spread over the directors, and over the three servers', async () => {
    const ps = ports(30000, 30);
    for (const p of ps) await cl.lab.exec(cl.client.role, 'curl', ['-s', '--max-time', '3', '--local-port', String(p), `http://${CLUSTER_VIP}/`]);
    const who = await carriers(cl, CIP);
    const byDirector = tally(ps.map((p) => (who.get(p) ?? []).map((c) => c.director).join('+') || 'none'));
    assert.equal(byDirector.none, undefined, JSON.stringify(byDirector));
    assert.ok(Object.keys(byDirector).length >= 2, JSON.stringify(byDirector));
    assert.ok(Object.keys(byDirector).every((k) => /^d\d$/.test(k)), `one director per flow: ${JSON.stringify(byDirector)}`);
    const servers = tally(ps.map((p) => who.get(p)![0].rip));
    assert.equal(Object.keys(servers).length, 3, `mh with the port spreads one client over the servers: ${JSON.stringify(servers)}`);
  });

  it('SIGKILL of a director mid-transfer: the router drops it at once and every download completes intact', async () => {
    const ps = ports(31000, 9);
    const run = downloads(cl, ps, SIZE, RATE);
    await sleep(1500);
    const before = await carriers(cl, CIP);
    const load = tally(ps.map((p) => before.get(p)?.[0]?.director ?? 'none'));
    assert.equal(load.none, undefined, JSON.stringify(load));
    assert.ok(Object.keys(load).length >= 2, `the downloads spread: ${JSON.stringify(load)}`);
    const victim = Object.entries(load).sort((a, b) => b[1] - a[1])[0][0];
    const t0 = performance.now();
    await cl.killDirector(victim, 'SIGKILL');
    await cl.waitNexthops(addresses(), CLUSTER_VIP, 5000);
    const tookMs = performance.now() - t0;
    const results = await run;
    assert.equal(results.length, ps.length);
    for (const r of results) assert.ok(r.intact, `download from port ${r.port} (carried by ${JSON.stringify(before.get(r.port))}): ${JSON.stringify(r)}`);
    const afterKill = await carriers(cl, CIP);
    const moved = ps.filter((p) => before.get(p)![0].director === victim);
    for (const p of moved) {
      // the survivor opened the session mid-flow, on the server the dead director had picked
      const now = afterKill.get(p) ?? [];
      assert.ok(now.length >= 1, `port ${p} continued on a survivor`);
      for (const c of now) assert.equal(c.rip, before.get(p)![0].rip, `port ${p}: ${c.director} picked the same server`);
    }
    assert.ok(moved.length >= 1);
    assert.ok(tookMs < 1000, `route withdrawn ${Math.round(tookMs)} ms after SIGKILL`);
    console.log(`# SIGKILL ${victim}: ${moved.length}/${ps.length} downloads moved to survivors, all intact; withdrawn in ${Math.round(tookMs)} ms`);
  });

  it('adding the director back: open transfers continue, new flows keep their servers', async () => {
    const victim = cl.directors.find((d) => !d.child)!;
    const sample = ports(40000, 2000);
    const beforeAdd = await ecmpChoices(cl, CIP, sample);
    const ps = ports(32000, 12);
    const run = downloads(cl, ps, SIZE, RATE);
    await sleep(1500);
    const before = await carriers(cl, CIP);
    await cl.startDirector(victim.name);
    await cl.waitNexthops(cl.directors.map((d) => d.address), CLUSTER_VIP, 15_000);
    const afterAdd = await ecmpChoices(cl, CIP, sample);
    const movedShare = sample.filter((p) => beforeAdd.get(p) !== afterAdd.get(p)).length / sample.length;
    const results = await run;
    for (const r of results) assert.ok(r.intact, `download from port ${r.port} across the re-add: ${JSON.stringify(r)}`);
    // downloads the router moved to the re-added director continued there, on the same server
    const via = await carriers(cl, CIP);
    const movedHere = ps.filter((p) => via.get(p)?.some((c) => c.director === victim.name));
    assert.ok(movedHere.length >= 1, 'some open downloads moved to the re-added director');
    for (const p of movedHere) {
      assert.equal(via.get(p)!.find((c) => c.director === victim.name)!.rip, before.get(p)![0].rip, `port ${p}: same server`);
    }
    // the router's share of 5-tuples that change director: Linux's hash-threshold multipath
    // moves 1/3 to 1/2 when a third next hop comes back (Maglev alone would move 1/N)
    assert.ok(movedShare > 0.2 && movedShare < 0.55, `moved ${movedShare}`);
    console.log(`# re-add ${victim.name}: ${movedHere.length}/${ps.length} open downloads moved to it, intact; ` +
      `the router moves ${(movedShare * 100).toFixed(1)}% of 5-tuples`);
  });

  it('drain-director: routes withdrawn, transfers and new connections continue, zero failures', async () => {
    const target = cl.directors[0];
    const ps = ports(34000, 6);
    const run = downloads(cl, ps, 12 << 20, RATE);
    // a stream of new connections during the drain
    const requests = cl.lab.exec(cl.client.role, 'bash', ['-c',
      `ok=0; bad=0; for i in $(seq 1 150); do if curl -s -f --max-time 3 -o /dev/null http://${CLUSTER_VIP}/; then ok=$((ok+1)); else bad=$((bad+1)); fi; sleep 0.02; done; echo "$ok $bad"`], 120_000);
    await sleep(1000);
    const drain = cl.lab.exec(target.role, 'env', [`WLVS_TOKEN_FILE=${cl.tokenFile}`, process.execPath, BIN, 'drain-director', '--deadline', '30', '--wait'], 60_000);
    await cl.waitNexthops(addresses().filter((a) => a !== target.address), CLUSTER_VIP, 5000);
    const out = await drain;
    assert.match(out, /DRAINED/, out);
    const [ok, bad] = (await requests).trim().split(' ').map(Number);
    assert.equal(bad, 0, `${bad} of ${ok + bad} new connections failed during the drain`);
    for (const r of await run) assert.ok(r.intact, `download from port ${r.port} across the drain: ${JSON.stringify(r)}`);
    const s = await cl.api(target.name, '/api/v1/cluster');
    assert.equal(s.state, 'drained');
    assert.deepEqual(s.announced, []);
    await cl.apiWrite(target.name, 'POST', '/api/v1/cluster/resume');
    await cl.waitNexthops(addresses(), CLUSTER_VIP, 5000);
  });

  it('a stalled data path (SIGSTOP): the watchdog withdraws the routes, SIGCONT brings them back', async () => {
    const target = cl.directors[2];
    const ps = ports(35000, 6);
    const run = downloads(cl, ps, 12 << 20, RATE);
    await sleep(1000);
    const t0 = performance.now();
    target.child!.kill('SIGSTOP');
    try {
      await cl.waitNexthops(addresses().filter((a) => a !== target.address), CLUSTER_VIP, 5000);
    } finally {
      target.child!.kill('SIGCONT');
    }
    const tookMs = performance.now() - t0;
    // watchdog 0.5 s, then one command on the control socket and a BGP UPDATE
    assert.ok(tookMs < 1500, `withdrawn ${Math.round(tookMs)} ms after the stall began`);
    await cl.waitNexthops(addresses(), CLUSTER_VIP, 5000);
    for (const r of await run) assert.ok(r.intact, `download from port ${r.port} across the stall: ${JSON.stringify(r)}`);
    const s = await cl.api(target.name, '/api/v1/cluster');
    assert.equal(s.stats.stalls, 1);
    assert.equal(s.stalled, false);
    console.log(`# SIGSTOP ${target.name}: withdrawn in ${Math.round(tookMs)} ms`);
  });

  it('SIGTERM: a clean stop withdraws first, then stops', async () => {
    const target = cl.directors[1];
    await cl.killDirector(target.name, 'SIGTERM');
    assert.ok(target.output.some((l) => /"event":"announce".*"announced":false/.test(l)), 'the stop withdrew the VIP');
    assert.deepEqual(await cl.nexthops(), addresses().sort());
  });
});

describe('cluster of three directors (Full-NAT, session sync)', { timeout: 420_000, skip: only && !only.includes('cluster/fullnat') }, () => {
  let cl: ClusterLab;
  const addresses = () => cl.directors.filter((d) => d.child).map((d) => d.address);
  /** the member that owns a connection: the one whose local address it uses */
  const owner = (lip: string | null) => cl.directors.find((d) => d.lip === lip)?.name ?? 'none';

  before(async () => {
    cl = await buildClusterLab({ tag: 'wcf', forwarding: 'fullnat' });
    await startClusterServers(cl);
    for (const d of cl.directors) await cl.startDirector(d.name);
    await cl.waitNexthops(addresses(), CLUSTER_VIP, 20_000);
    for (const d of cl.directors) await cl.waitNexthops([d.address], d.lip, 10_000);
  });
  after(async () => {
    if (process.env.WLVS_E2E_LOG) {
      (await import('node:fs')).writeFileSync(process.env.WLVS_E2E_LOG, cl?.directors.map((d) => d.output.join('\n')).join('\n') ?? '');
    }
    await cl?.destroy();
  });

  it('each member announces the VIP and its local address, and backs up the others\' less preferred', async () => {
    for (const d of cl.directors) await eventually(async () => {
      const s = await cl.api(d.name, '/api/v1/cluster');
      const kinds = tally(s.announced.map((a: { kind: string }) => a.kind));
      assert.deepEqual(kinds, { vip: 1, lip: 1, backup: 2 }, JSON.stringify(s.announced));
      assert.equal(s.sync.ready, true);
      for (const m of s.members.filter((x: { self: boolean }) => !x.self)) assert.equal(m.up, true, JSON.stringify(m));
      // the router prefers the owner's route (shorter AS path) for each local address
      assert.deepEqual(await cl.nexthops(d.lip), [d.address]);
      const routes = await cl.lab.run(cl.router.role, 'birdc', ['-s', cl.router.socket, 'show', 'route', `${d.lip}/32`, 'all']);
      assert.equal((routes.stdout.match(/BGP\.as_path:/g) ?? []).length, 3, routes.stdout);
    });
  });

  it('every member holds every connection; the servers see each connection from its owner\'s local address', async () => {
    const ps = ports(36000, 12);
    const seenAs = new Map<number, string>();
    for (const p of ps) {
      const out = JSON.parse(await cl.lab.exec(cl.client.role, 'curl', ['-s', '--max-time', '3', '--local-port', String(p),
        `http://${CLUSTER_VIP}/`]));
      seenAs.set(p, out.client);
    }
    await sleep(200);
    const who = await carriers(cl, CIP);
    for (const p of ps) {
      const cs = who.get(p) ?? [];
      assert.equal(cs.length, 3, `port ${p}: ${JSON.stringify(cs)}`);
      assert.equal(new Set(cs.map((c) => c.lip)).size, 1, 'one local address, synced');
      assert.equal(seenAs.get(p), cs[0].lip, `port ${p}: the server saw the owner's local address`);
      assert.ok(cl.directors.some((d) => d.lip === cs[0].lip));
    }
    const owners = tally(ps.map((p) => owner(who.get(p)![0].lip)));
    assert.ok(Object.keys(owners).length >= 2, `connections spread over the members: ${JSON.stringify(owners)}`);
    for (const d of cl.directors) {
      const s = await cl.api(d.name, '/api/v1/cluster');
      assert.ok(s.sync.imported > 0 && s.sync.refused === 0, JSON.stringify(s.sync));
      assert.deepEqual(Object.values(s.sync.dropped).reduce((a: number, b) => a + (b as number), 0), 0);
    }
  });

  it('SIGKILL of a member mid-transfer: its local address moves to the others and no connection breaks', async () => {
    const ps = ports(37000, 12);
    const run = downloads(cl, ps, SIZE, RATE);
    await sleep(1500);
    const before = await carriers(cl, CIP);
    const owners = tally(ps.map((p) => owner(before.get(p)?.[0]?.lip ?? null)));
    assert.equal(owners.none, undefined, JSON.stringify(owners));
    for (const p of ps) assert.equal(before.get(p)!.length, 3, `port ${p} synced to every member`);
    const victim = cl.directors.find((d) => d.name === Object.entries(owners).sort((a, b) => b[1] - a[1])[0][0])!;
    const t0 = performance.now();
    await cl.killDirector(victim.name, 'SIGKILL');
    const rest = addresses();
    await cl.waitNexthops(rest, CLUSTER_VIP, 5000);
    await cl.waitNexthops(rest, victim.lip, 5000);
    const tookMs = performance.now() - t0;
    const results = await run;
    const broken = results.filter((r) => !r.intact);
    assert.deepEqual(broken, [], `broken after ${victim.name}'s death`);
    assert.ok(tookMs < 1000, `VIP and local address rerouted ${Math.round(tookMs)} ms after SIGKILL`);
    console.log(`# Full-NAT SIGKILL ${victim.name}: it owned ${owners[victim.name]}/${ps.length} downloads, ` +
      `${broken.length} broke; VIP and ${victim.lip} rerouted in ${Math.round(tookMs)} ms`);
  });

  it('the member comes back: it learns the tables before it announces, and takes its local address back', async () => {
    const victim = cl.directors.find((d) => !d.child)!;
    const ps = ports(38000, 9);
    const run = downloads(cl, ps, SIZE, RATE);
    await sleep(1500);
    await cl.startDirector(victim.name);
    await cl.waitNexthops([victim.address], victim.lip, 10_000);
    await cl.waitNexthops(cl.directors.map((d) => d.address), CLUSTER_VIP, 10_000);
    const s = await cl.api(victim.name, '/api/v1/cluster');
    assert.ok(s.sync.imported >= ps.length, `bulk transfer on rejoin: ${JSON.stringify(s.sync)}`);
    assert.ok(victim.output.some((l) => /cluster_bulk_received/.test(l)));
    for (const r of await run) assert.ok(r.intact, `download from port ${r.port} across the rejoin: ${JSON.stringify(r)}`);
  });

  it('drain-director (Full-NAT): routes withdrawn, zero failed connections, transfers intact', async () => {
    const target = cl.directors[1];
    const ps = ports(39000, 6);
    const run = downloads(cl, ps, 12 << 20, RATE);
    const requests = cl.lab.exec(cl.client.role, 'bash', ['-c',
      `ok=0; bad=0; for i in $(seq 1 150); do if curl -s -f --max-time 3 -o /dev/null http://${CLUSTER_VIP}/; then ok=$((ok+1)); else bad=$((bad+1)); fi; sleep 0.02; done; echo "$ok $bad"`], 120_000);
    await sleep(1000);
    const drain = cl.lab.exec(target.role, 'env', [`WLVS_TOKEN_FILE=${cl.tokenFile}`, process.execPath, BIN, 'drain-director', '--deadline', '20', '--wait'], 60_000);
    await cl.waitNexthops(addresses().filter((a) => a !== target.address), CLUSTER_VIP, 5000);
    assert.match(await drain, /DRAINED/);
    const [ok, bad] = (await requests).trim().split(' ').map(Number);
    assert.equal(bad, 0, `${bad} of ${ok + bad} new connections failed during the drain`);
    for (const r of await run) assert.ok(r.intact, `download from port ${r.port} across the drain: ${JSON.stringify(r)}`);
    await cl.apiWrite(target.name, 'POST', '/api/v1/cluster/resume');
    await cl.waitNexthops(addresses(), CLUSTER_VIP, 5000);
  });
});

describe('cluster of two directors, IPv6 VIP (TUN 6in6, Maglev)', { timeout: 300_000, skip: only && !only.includes('cluster/ipv6') }, () => {
  let cl: ClusterLab;
  const addresses6 = () => cl.directors.filter((d) => d.child).map((d) => d.address6);
  const CIP6 = '2001:db8:1::10';

  before(async () => {
    cl = await buildClusterLab({ tag: 'wcs', directors: 2, ipv6: true });
    await startClusterServers(cl);
    for (const d of cl.directors) await cl.startDirector(d.name);
    await cl.waitNexthops(addresses6(), CLUSTER_VIP6, 20_000);
    await cl.waitNexthops(cl.directors.map((d) => d.address), CLUSTER_VIP, 10_000);
  });
  after(async () => {
    if (process.env.WLVS_E2E_LOG) {
      (await import('node:fs')).writeFileSync(process.env.WLVS_E2E_LOG, cl?.directors.map((d) => d.output.join('\n')).join('\n') ?? '');
    }
    await cl?.destroy();
  });

  it('each director has an IPv6 BGP session beside the IPv4 one and announces the IPv6 VIP as a /128', async () => {
    for (const d of cl.directors) await eventually(async () => {
      const s = await cl.api(d.name, '/api/v1/status');
      assert.equal(s.cluster.state, 'active');
      assert.deepEqual(s.cluster.neighbors.map((n: { address: string; up: boolean }) => [n.address, n.up]),
        [['10.99.2.254', true], ['2001:db8:2::fe', true]], JSON.stringify(s.cluster.neighbors));
      assert.deepEqual(s.cluster.announced.map((a: { prefix: string }) => a.prefix).sort(),
        [`${CLUSTER_VIP}/32`, `${CLUSTER_VIP6}/128`]);
    });
    // the router learned the /128 over the IPv6 sessions only, and merged the two paths
    await eventually(async () => {
      const routes = await cl.lab.run(cl.router.role, 'birdc', ['-s', cl.router.socket, 'show', 'route', `${CLUSTER_VIP6}/128`, 'all']);
      assert.match(routes.stdout, /d1v6/);
      assert.match(routes.stdout, /d2v6/);
      assert.deepEqual(await cl.nexthops(CLUSTER_VIP6), addresses6().sort());
    });
  });

  it('curl -6: flows spread over both directors and the three servers', async () => {
    const ps = ports(30000, 30);
    for (const p of ps) {
      const out = JSON.parse(await cl.lab.exec(cl.client.role, 'curl', ['-6', '-s', '--max-time', '3', '--local-port', String(p),
        `http://[${CLUSTER_VIP6}]/`]));
      assert.equal(out.client, CIP6, 'TUN keeps the client address');
    }
    const who = await carriers(cl, CIP6, 'web6');
    const byDirector = tally(ps.map((p) => (who.get(p) ?? []).map((c) => c.director).join('+') || 'none'));
    assert.equal(byDirector.none, undefined, JSON.stringify(byDirector));
    assert.deepEqual(Object.keys(byDirector).sort(), ['d1', 'd2'], `both paths, one director per flow: ${JSON.stringify(byDirector)}`);
    const servers = tally(ps.map((p) => who.get(p)![0].rip));
    assert.equal(Object.keys(servers).length, 3, JSON.stringify(servers));
  });

  it('SIGKILL of a director mid-transfer: the router drops its IPv6 next hop, downloads continue, new connections succeed', async () => {
    const ps = ports(31000, 8);
    const run = downloads(cl, ps, SIZE, RATE, 90, CLUSTER_VIP6);
    await sleep(1500);
    const before = await carriers(cl, CIP6, 'web6');
    const load = tally(ps.map((p) => before.get(p)?.[0]?.director ?? 'none'));
    assert.equal(load.none, undefined, JSON.stringify(load));
    const victim = cl.directors.find((d) => d.name === Object.entries(load).sort((a, b) => b[1] - a[1])[0][0])!;
    const t0 = performance.now();
    await cl.killDirector(victim.name, 'SIGKILL');
    await cl.waitNexthops(addresses6(), CLUSTER_VIP6, 5000);
    const tookMs = performance.now() - t0;
    // new IPv6 connections after the withdrawal: all on the survivor
    const [ok, bad] = (await cl.lab.exec(cl.client.role, 'bash', ['-c',
      `ok=0; bad=0; for i in $(seq 1 40); do if curl -6 -s -f --max-time 3 -o /dev/null http://[${CLUSTER_VIP6}]/; then ok=$((ok+1)); else bad=$((bad+1)); fi; done; echo "$ok $bad"`],
    120_000)).trim().split(' ').map(Number);
    assert.equal(bad, 0, `${bad} of ${ok + bad} new IPv6 connections failed after the withdrawal`);
    const results = await run;
    assert.equal(results.length, ps.length);
    for (const r of results) assert.ok(r.intact, `download from port ${r.port} (carried by ${JSON.stringify(before.get(r.port))}): ${JSON.stringify(r)}`);
    const moved = ps.filter((p) => before.get(p)![0].director === victim.name);
    const afterKill = await carriers(cl, CIP6, 'web6');
    for (const p of moved) {
      const now = afterKill.get(p) ?? [];
      assert.ok(now.length >= 1, `port ${p} continued on the survivor`);
      for (const c of now) assert.equal(c.rip, before.get(p)![0].rip, `port ${p}: ${c.director} picked the same server`);
    }
    assert.ok(moved.length >= 1);
    assert.ok(tookMs < 1000, `route withdrawn ${Math.round(tookMs)} ms after SIGKILL`);
    console.log(`# IPv6 SIGKILL ${victim.name}: ${moved.length}/${ps.length} downloads moved to the survivor, all intact; ` +
      `withdrawn in ${Math.round(tookMs)} ms; ${ok} new connections after`);
  });

  it('the director comes back and announces the IPv6 VIP again', async () => {
    const victim = cl.directors.find((d) => !d.child)!;
    await cl.startDirector(victim.name);
    await cl.waitNexthops(cl.directors.map((d) => d.address6), CLUSTER_VIP6, 15_000);
  });
});
