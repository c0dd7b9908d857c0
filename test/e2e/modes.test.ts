// End to end, for every forwarding mode on TAP devices and (but DR) on a TUN device: real TCP
// stacks in network namespaces, curl, iperf3, a checksummed 64 MiB download, UDP, ping, and a
// real server taken out by a reload. The real servers run with `ethtool -K eth0 tx off`, so
// the kernel checks every checksum the director touched (veth alone never would).
// Every scenario runs twice: with one data-path worker and with two (director.workers: 2, the
// devices multi-queue, one shared session table), the second also proving that both workers
// carried traffic, that their counters add up to the totals and, for NAT and Full-NAT, that
// connections whose frames both workers forwarded were translated both ways.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ForwardingMode } from '../../src/model/spec.js';
import { ROUTER_INT, buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_LIPS_TAP, LAB_LIPS_TUN, LAB_TOKEN, LAB_VIP_TAP, LAB_VIP_TUN, type RunningDirector, labConfig, rsGatewayFor,
  startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { ctrDigest } from '../../src/lab/data-stream.js';
import { api, apiWrite, download, get, sleep, tally, udp } from './lib.js';

// one scenario also busy-polls (director.busy_poll_us), so that loop carries every test's traffic;
// one on each kind of device runs on io_uring (director.io_engine), the others on the default (epoll)
const SCENARIOS: { device: 'tap' | 'tun'; forwarding: ForwardingMode; busyPollUs?: number; ioEngine?: 'io_uring' }[] = [
  { device: 'tap', forwarding: 'nat' },
  { device: 'tap', forwarding: 'dr' },
  { device: 'tap', forwarding: 'tun' },
  { device: 'tap', forwarding: 'fullnat', ioEngine: 'io_uring' },
  { device: 'tun', forwarding: 'nat', ioEngine: 'io_uring' },
  { device: 'tun', forwarding: 'tun' },
  { device: 'tun', forwarding: 'fullnat', busyPollUs: 100 },
];

const DOWNLOAD = 64 << 20;
// client addresses 10.99.1.10.. for the source-hashing test (the others use the first)
const CLIENTS = 8;
// connections per client address in the two-worker spread test
const FLOWS_PER_CLIENT = 8;
// connections one by one in the two-worker test of a flow's directions on different workers
const ONE_BY_ONE = 16;

interface WorkerCounters { rx_frames: number; tx_frames: number; batches: number }

/** metric reads one sample of a Prometheus text exposition (NaN when absent) */
function metric(text: string, name: string, labels?: string): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

// WLVS_E2E_ONLY (comma-separated) runs a subset while developing: `tap/nat` is NAT over TAP with
// one worker, `tap/nat@2` the same with two workers, `@2` every scenario with two
const only = process.env.WLVS_E2E_ONLY?.split(',');
const WORKERS = [1, 2];
const RUNS = SCENARIOS.flatMap((s) => WORKERS.map((workers) => ({ ...s, workers })))
  .filter((s) => !only || only.includes(`${s.device}/${s.forwarding}${s.workers > 1 ? `@${s.workers}` : ''}`) ||
    (s.workers > 1 && only.includes(`@${s.workers}`)));

for (const { device, forwarding, busyPollUs, ioEngine, workers } of RUNS) {
  describe(`${forwarding} over ${device}${busyPollUs ? ', busy polling' : ''}${ioEngine ? `, ${ioEngine}` : ''}, ${workers} worker${workers > 1 ? 's' : ''}`, { timeout: 240_000 }, () => {
    let topo: Topology;
    let dir: RunningDirector;
    const vip = device === 'tap' ? LAB_VIP_TAP : LAB_VIP_TUN;
    const lips = device === 'tap' ? LAB_LIPS_TAP : LAB_LIPS_TUN;
    const config = (token: string, weights = [1, 2, 1], drop?: string) => {
      const c = labConfig(topo, device, { forwarding, scheduler: 'wrr', weights, sticky: true, busyPollUs, workers, ioEngine }, token) as {
        services: { real_servers: { address: string }[] }[];
      };
      if (drop) for (const s of c.services) s.real_servers = s.real_servers.filter((r) => r.address !== drop);
      return c as unknown as Record<string, unknown>;
    };

    const perWorker = async () => ((await api(topo, dir, '/api/v1/status')) as { workers: WorkerCounters[] }).workers;

    // the bridges' MACs before wlvs's TAPs joined them, and after
    const bridgeMacs: { before?: string[]; after?: string[] } = {};
    const readBridgeMacs = () => Promise.all(['ext', 'int'].map(async (side) => {
      const [link] = JSON.parse(await topo.exec(topo.director.role, 'ip', ['-j', 'link', 'show', 'dev', topo.bridge(side as 'ext' | 'int')])) as { address: string }[];
      return link.address;
    }));

    before(async () => {
      topo = await buildTopology({ rsGateway: rsGatewayFor(forwarding, device), rsTxOff: true, tag: 'we', clientAddresses: CLIENTS });
      await startRealServers(topo, { forwarding, vip, ports: [80, 81], iperf: true });
      // servers that were up before the director have resolved their gateway (the director
      // namespace's kernel) already; their replies must still reach it once wlvs is on the bridge
      if (topo.rsGateway === ROUTER_INT) {
        for (const rs of topo.realServers) await topo.exec(rs.role, 'ping', ['-c', '1', '-W', '2', ROUTER_INT], 10_000);
      }
      bridgeMacs.before = await readBridgeMacs();
      dir = await startDirector(topo, (token) => config(token));
      bridgeMacs.after = await readBridgeMacs();
    });
    after(async () => {
      await topo?.lab.destroy();
    });

    if (device === 'tap') {
      it('wlvs joining the bridges leaves their MACs (the gateways the hosts know) as they were', () => {
        assert.deepEqual(bridgeMacs.after, bridgeMacs.before);
      });
    }

    it(`the data path runs on ${ioEngine ?? 'epoll'}`, async () => {
      const st = (await api(topo, dir, '/api/v1/status')) as { io_engine: string; port: { syscalls: number; rxFrames: number } };
      assert.equal(st.io_engine, ioEngine ?? 'epoll');
      assert.ok(st.port.syscalls > 0, JSON.stringify(st.port));
    });

    it('spreads new connections as wrr 1:2:1 says, reaching all three servers', async () => {
      const seen: string[] = [];
      for (let i = 0; i < 16; i++) seen.push((await get(topo, `http://${vip}/`)).server);
      assert.deepEqual(tally(seen), { rs1: 4, rs2: 8, rs3: 4 });
    });

    it(`the real server sees ${forwarding === 'fullnat' ? 'a LIP' : 'the client address'} as the source`, async () => {
      const a = await get(topo, `http://${vip}/`);
      if (forwarding === 'fullnat') assert.ok(lips.includes(a.client), `saw ${a.client}`);
      else assert.equal(a.client, topo.client.address);
    });

    it('source hashing keeps each client on one server and spreads the clients over the servers', async () => {
      const bySource = new Map<string, string[]>();
      for (const source of topo.client.addresses) {
        const seen: string[] = [];
        for (let i = 0; i < 3; i++) {
          const a = await get(topo, `http://${vip}:81/`, source);
          if (forwarding !== 'fullnat') assert.equal(a.client, source, 'the request left from that address');
          seen.push(a.server);
        }
        bySource.set(source, seen);
      }
      const picture = JSON.stringify(Object.fromEntries(bySource));
      for (const seen of bySource.values()) assert.equal(new Set(seen).size, 1, `one server per client: ${picture}`);
      const servers = new Set([...bySource.values()].map((s) => s[0]));
      assert.ok(servers.size >= 2, `${CLIENTS} clients on ${servers.size} server(s): ${picture}`);
    });

    it('a 64 MiB download arrives intact and from one server', async () => {
      const d = await download(topo, `http://${vip}/bytes/${DOWNLOAD}`);
      assert.equal(d.sha256, ctrDigest(DOWNLOAD));
      assert.match(d.server, /^rs[123]$/);
    });

    it('iperf3 runs through the VIP (control and data on one server)', async () => {
      const out = await topo.lab.exec(topo.client.role, 'iperf3', ['-c', vip, '-t', '2', '-J'], 30_000);
      const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
      const bps = report.end.sum_received.bits_per_second;
      assert.ok(bps > 1e6, `${bps} bit/s`);
    });

    it('UDP request and response', async () => {
      const answer = await udp(topo, vip, 5353, 'hello');
      const [server, client, payload] = answer.split('|');
      assert.match(server, /^rs[123]$/, answer);
      if (forwarding === 'fullnat') assert.ok(lips.includes(client), answer);
      else assert.equal(client, topo.client.address);
      assert.equal(payload, 'hello');
    });

    it('the VIP answers ping', async () => {
      const out = await topo.lab.exec(topo.client.role, 'ping', ['-c', '2', '-W', '2', vip], 10_000);
      assert.match(out, /2 received/);
    });

    it(forwarding === 'dr' || forwarding === 'tun' ? 'replies bypass the director (its counters prove it)'
      : 'replies come back through the director', async () => {
      const web = (await api(topo, dir, '/api/v1/services/web')) as { stats: Record<string, number>; real_servers: { stats: Record<string, number> }[] };
      assert.ok(web.stats.inpkts > 20, `in ${web.stats.inpkts}`);
      if (forwarding === 'dr' || forwarding === 'tun') {
        assert.equal(web.stats.outpkts, 0);
        for (const r of web.real_servers) assert.equal(r.stats.outpkts, 0);
      } else {
        assert.ok(web.stats.outpkts > 10, `out ${web.stats.outpkts}`);
      }
    });

    if (workers > 1) {
      it(`${CLIENTS * FLOWS_PER_CLIENT} connections from ${CLIENTS} clients are spread over both workers, whose counters add up`, async (t) => {
        const before = await perWorker();
        assert.equal(before.length, workers);
        // each connection a fresh source port, so a fresh flow hash for the devices' queue choice
        const loops = topo.client.addresses.map((a) =>
          `(for i in $(seq ${FLOWS_PER_CLIENT}); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 5 --interface ${a} http://${vip}/; done) &`);
        const out = await topo.lab.exec(topo.client.role, 'sh', ['-c', `${loops.join(' ')} wait`], 60_000);
        const codes = out.trim().split('\n');
        assert.equal(codes.length, CLIENTS * FLOWS_PER_CLIENT);
        assert.deepEqual(tally(codes), { 200: CLIENTS * FLOWS_PER_CLIENT });
        const after = await perWorker();
        const delta = after.map((w, i) => ({
          rx: w.rx_frames - before[i].rx_frames, tx: w.tx_frames - before[i].tx_frames,
          batches: w.batches - before[i].batches,
        }));
        t.diagnostic(`per-worker frames and batches in the burst: ${JSON.stringify(delta)}`);
        for (const [i, d] of delta.entries()) {
          assert.ok(d.rx > 0 && d.tx > 0 && d.batches > 0, `worker ${i} idle in the burst: ${JSON.stringify(delta)}`);
        }
        // one scrape: the per-worker series and the device totals are read at one moment, but a
        // stray frame (ARP, a retransmit) may land between two of its reads: a few tries
        let last = '';
        for (let attempt = 0; attempt < 3; attempt++) {
          const m = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${dir.adminUrl}/metrics`]);
          assert.equal(metric(m, 'wlvs_workers'), workers);
          const sums = ['rx', 'tx'].map((d) => [...Array(workers).keys()]
            .reduce((n, w) => n + metric(m, 'wlvs_worker_frames_total', `worker="${w}",direction="${d}"`), 0));
          const totals = ['rx', 'tx'].map((d) => metric(m, 'wlvs_device_frames_total', `direction="${d}"`));
          last = `per-worker sums rx/tx ${sums}, device totals ${totals}`;
          if (sums[0] === totals[0] && sums[1] === totals[1]) break;
          last += ' (differ)';
          await sleep(200);
        }
        t.diagnostic(last);
        assert.doesNotMatch(last, /differ/, last);
      });
    }

    if (workers > 1 && (forwarding === 'nat' || forwarding === 'fullnat')) {
      // Which queue of a multi-queue device a frame goes to: the flow-hash steering program's
      // choice (director.queue_steering, native/steering.c), a hash of the frame's own addresses
      // and ports. A NAT'ed flow's request (CIP -> VIP) and reply (RIP -> CIP, or LIP's for
      // Full-NAT) have different tuples, so they land on different workers in about half the
      // connections, and only the shared table joins them. Each worker's forwarded frames (tx;
      // the host's own frames are not a worker's) in a connection tell which workers carried it.
      it(`connections handled by both workers (${ONE_BY_ONE}, one by one) are translated both ways`, async (t) => {
        const tx = async () => (await perWorker()).map((w) => w.tx_frames);
        let both = 0;
        for (let i = 0; i < ONE_BY_ONE; i++) {
          const source = topo.client.addresses[i % CLIENTS];
          const before = await tx();
          const a = await get(topo, `http://${vip}/`, source);
          assert.match(a.server, /^rs[123]$/, JSON.stringify(a));
          if (forwarding === 'fullnat') assert.ok(lips.includes(a.client), JSON.stringify(a));
          else assert.equal(a.client, source);
          // the closing handshake's last frames count in this connection, not the next
          await sleep(50);
          const after = await tx();
          if (after.every((n, w) => n > before[w])) both++;
        }
        t.diagnostic(`${both} of ${ONE_BY_ONE} connections forwarded by both workers`);
        assert.ok(both > 0, 'every connection stayed on one worker: its two directions never hashed apart (see the comment)');
      });
    }

    if (busyPollUs) {
      it('busy polling picks up batches without sleeping in between', async () => {
        const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${dir.adminUrl}/metrics`]);
        const batches = Number(/^wlvs_busy_poll_batches_total (\d+)/m.exec(metrics)?.[1]);
        assert.ok(batches > 0, `busy-poll batches: ${batches}`);
      });
    }

    it('a real server removed from the configuration gets no new connections', async () => {
      dir.writeConfig(config(dir.tokenFile, [1, 2, 1], topo.realServers[1].address));
      const r = await apiWrite(topo, dir, 'POST', '/api/v1/reload', undefined, LAB_TOKEN);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.realServersRemoved.filter((x: string) => x.startsWith('web/')), [`web/${topo.realServers[1].address}:80`]);
      await sleep(100);
      const seen: string[] = [];
      for (let i = 0; i < 8; i++) seen.push((await get(topo, `http://${vip}/`)).server);
      assert.deepEqual(tally(seen), { rs1: 4, rs3: 4 });
    });
  });
}
