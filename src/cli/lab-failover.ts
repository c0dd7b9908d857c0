// lab-failover.ts — `wlvs lab failover`: two directors, a master and a backup, in a namespace
// lab, electing each other by VRRP on the client segment and syncing sessions over a link
// authenticated with a shared key. A download runs through the VIP, the master is killed
// (SIGKILL), and the demo shows the backup taking over and the download finishing intact on the
// same connection, thanks to session sync. Everything is torn down at the end, also on failure.
import { Progress } from '../lab/progress.js';
import { WlvsError } from '../errors.js';
import { ctrDigest } from '../lab/data-stream.js';
import {
  LAB_HA_ADMIN, LAB_HA_GATEWAY, LAB_HA_VRID, LAB_VIP_TAP, labHaConfig, labHaKey, startDirector, startRealServers,
} from '../lab/lab-director.js';
import { buildTopology } from '../lab/topology.js';

const SIZE = 24 << 20;

export async function labFailover(): Promise<void> {
  // steps (lines starting with a letter) carry the elapsed time; details and tables print as they are
  const progress = new Progress(null, (l) => console.log(l));
  const say = (s: string) => (/^[a-z]/i.test(s) ? progress.step(s) : console.log(s));
  say('wlvs failover demo: building the lab (client, one director namespace with two wlvs, rs1..rs3)');
  const topo = await buildTopology({ rsGateway: LAB_HA_GATEWAY, tag: 'wf' });
  try {
    say('starting the real servers');
    await startRealServers(topo, { forwarding: 'nat', vip: LAB_VIP_TAP });
    say('starting directors a (priority 150) and b (priority 100)');
    const keyFile = labHaKey(topo);
    const a = await startDirector(topo, (t) => labHaConfig(topo, 'a', t, { keyFile }), { adminPort: LAB_HA_ADMIN.a });
    const b = await startDirector(topo, (t) => labHaConfig(topo, 'b', t, { keyFile }), { adminPort: LAB_HA_ADMIN.b });
    const status = async (url: string) => JSON.parse(await topo.lab.exec('dir', 'curl', ['-s', '--max-time', '2', `${url}/api/v1/status`])) as {
      ha: { state: string; priority: number; stats: Record<string, number> }; sessions: { count: number };
    };
    await new Promise((r) => setTimeout(r, 1000));
    const [sa, sb] = [await status(a.adminUrl), await status(b.adminUrl)];
    say(`  director a: ${sa.ha.state} (priority ${sa.ha.priority}); director b: ${sb.ha.state} (priority ${sb.ha.priority})`);
    say(`  VIP ${LAB_VIP_TAP} and the servers' gateway ${LAB_HA_GATEWAY} are answered by the master only;`);
    say(`  VRRP v3 adverts (VRID ${LAB_HA_VRID}, HMAC-authenticated) every 0.3 s to 224.0.0.18 on the client segment`);
    say(`\n  downloading ${SIZE >> 20} MiB through the VIP at 8 MB/s ...`);
    const file = `${topo.lab.tempDir('dl')}/body`;
    const download = topo.lab.exec('cl', 'sh', ['-c',
      `curl -s --max-time 60 --limit-rate 8M -w '%{size_download}\n' -o ${file} http://${LAB_VIP_TAP}/bytes/${SIZE}; sha256sum ${file}`], 90_000)
      .catch((err: Error) => `failed: ${err.message}`);
    await new Promise((r) => setTimeout(r, 1200));
    say(`  backup b holds ${(await status(b.adminUrl)).sessions.count} synced session(s); killing master a (SIGKILL) now`);
    a.child.kill('SIGKILL');
    const t0 = performance.now();
    let took = 0;
    while (performance.now() - t0 < 10_000) {
      if ((await status(b.adminUrl)).ha.state === 'master') {
        took = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!took) throw new WlvsError('WLVS_ERR_DEMO', 'the backup did not take over within 10 s');
    say(`  b is master ${Math.round(took)} ms later and announces the addresses by gratuitous ARP`);
    const out = (await download).trim();
    const sum = /([0-9a-f]{64})/.exec(out)?.[1];
    const ok = sum === ctrDigest(SIZE);
    say(`  download finished: ${/^(\d+)/.exec(out)?.[1] ?? '?'} bytes, SHA-256 ${ok ? 'matches' : 'DOES NOT match'} the servers' stream`);
    const fin = await status(b.adminUrl);
    say(`  b imported ${fin.ha.stats.sessionsImported} session records from a before it died`);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push((JSON.parse(await topo.lab.exec('cl', 'curl', ['-s', '--max-time', '3', `http://${LAB_VIP_TAP}/`])) as { server: string }).server);
    }
    say(`  new connections through b: ${seen.join(', ')}`);
    if (!ok) throw new WlvsError('WLVS_ERR_DEMO', 'the download did not survive the failover');
  } finally {
    say('\nwlvs failover demo: tearing the lab down');
    await topo.lab.destroy();
  }
}
