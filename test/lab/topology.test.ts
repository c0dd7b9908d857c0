// The namespace lab: it routes client -> real server through the director's kernel, applies the
// pitfall settings, and leaves nothing behind — after destroy(), after a failing build step,
// after SIGTERM and after an uncaught exception in the process that built it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buildTopology, ROUTER_INT, type Topology } from '../../src/lab/topology.js';
import { Lab } from '../../src/lab/netns.js';
import { liveCount } from '../../src/lab/cleanup.js';
import { WlvsError } from '../../src/errors.js';
import { currentRuntime, scriptCommand } from '../../src/sys/runtime.js';

const TOPOLOGY = new URL('../../src/lab/topology.js', import.meta.url).pathname;

function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** cmdline: the process's command line, words joined by spaces ('' once it is gone) */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe('lab topology', { timeout: 120_000 }, () => {
  let topo: Topology;
  before(async () => {
    topo = await buildTopology({ rsTxOff: true, clientAddresses: 2, tag: 'wlt' });
  });
  after(async () => {
    await topo?.destroy();
  });

  it('creates uniquely named namespaces for client, director and rs1..rs3', () => {
    const names = [topo.names.client, topo.names.director, ...topo.names.realServers];
    assert.equal(names.length, 5);
    for (const n of names) assert.match(n, new RegExp(`^${topo.lab.id}-(client|director|rs[123])$`));
    const listed = netnsList();
    for (const n of names) assert.ok(listed.includes(n), `${n} missing from ip netns list`);
  });

  it('routes client -> 10.99.2.11 through the director kernel', async () => {
    const out = await topo.exec(topo.client.role, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '10.99.2.11'], 10_000);
    assert.match(out, / 0% packet loss/);
    // and from the second client address too
    await topo.exec(topo.client.role, 'ping', ['-c', '1', '-W', '2', '-I', topo.client.addresses[1], '10.99.2.13'], 10_000);
  });

  it('applies the pitfall settings in the director and keeps it free of nftables state', async () => {
    const get = (k: string) => topo.exec('director', 'sysctl', ['-n', k]).then((s) => s.trim());
    assert.equal(await get('net.ipv4.ip_forward'), '1');
    assert.equal(await get('net.ipv4.tcp_early_demux'), '0');
    assert.equal(await get('net.ipv4.conf.all.rp_filter'), '0');
    assert.equal((await topo.exec('director', 'nft', ['list', 'ruleset'])).trim(), '');
  });

  it('turns tx checksum offload off on every real server (rsTxOff)', async () => {
    for (const rs of topo.realServers) {
      const out = await topo.exec(rs.role, 'ethtool', ['-k', rs.iface]);
      assert.match(out, /^tx-checksumming: off/m, `${rs.role}: ${out.split('\n').slice(0, 3).join(' ')}`);
    }
  });

  it('attaches a director interface to a bridge (the hook for wlvs TAP devices)', async () => {
    await topo.lab.ip('director', 'tuntap', 'add', 'dev', 'wltest0', 'mode', 'tap');
    await topo.attach('wltest0', 'int');
    const link = await topo.lab.ip('director', '-j', 'link', 'show', 'wltest0');
    assert.equal((JSON.parse(link.stdout) as { master: string }[])[0].master, topo.bridge('int'));
    await topo.lab.ip('director', 'link', 'del', 'wltest0');
  });

  it('changes the real servers default gateway and back', async () => {
    await topo.setRsGateway('10.99.2.1');
    assert.match(await topo.exec('rs2', 'ip', ['route', 'show', 'default']), /via 10\.99\.2\.1 /);
    await topo.setRsGateway(ROUTER_INT);
    assert.equal(topo.rsGateway, ROUTER_INT);
  });

  it('accepts the legacy role names cl and dir', () => {
    assert.equal(topo.lab.ns('cl'), topo.names.client);
    assert.equal(topo.lab.ns('dir'), topo.names.director);
  });

  it('reports a failing command as WLVS_ERR_COMMAND with command and stderr', async () => {
    await assert.rejects(topo.exec('rs1', 'ip', ['link', 'show', 'nosuchdev0']), (err: unknown) => {
      assert.ok(WlvsError.is(err));
      assert.equal(err.code, 'WLVS_ERR_COMMAND');
      assert.match(err.message, /ip link show nosuchdev0/);
      assert.match(String(err.details?.stderr), /does not exist/);
      return true;
    });
  });

  it('bounds a command in time and kills it', async () => {
    const t0 = Date.now();
    await assert.rejects(topo.lab.run('client', 'sleep', ['30'], { timeoutMs: 300 }), /timed out after 300 ms/);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('destroy() ends spawned processes (and their children) and removes every namespace', async () => {
    const lab = new Lab('wlt');
    await lab.addNamespace('a');
    // a shell with a child of its own: the whole process group must go
    const sh = lab.spawn('a', 'sh', ['-c', 'sleep 60 & echo $!; wait']);
    const grandchild = await new Promise<number>((resolve) => sh.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    assert.ok(alive(sh.pid!) && alive(grandchild));
    assert.deepEqual(lab.pids, [sh.pid]);
    await lab.destroy();
    assert.ok(await waitGone(sh.pid!), 'spawned process survived');
    assert.ok(await waitGone(grandchild), 'its child survived');
    assert.ok(!netnsList().some((n) => n.startsWith(lab.id)));
    await lab.destroy(); // twice is fine
  });
});

/**
 * spawnModule runs an ES module's text with the runtime running this test (Node or Deno): from
 * a file, since `deno` has no --input-type (a file is what both take alike)
 */
function spawnModule(script: string, stdio: ['ignore', 'pipe', 'pipe' | 'inherit']): ChildProcessByStdio<null, Readable, Readable> {
  const dir = mkdtempSync(join(tmpdir(), 'wlvs-lab-test-'));
  const file = join(dir, 'builder.mjs');
  writeFileSync(file, script);
  const [exe, args] = scriptCommand(file, [], currentRuntime);
  const proc = spawn(exe, args, { stdio }) as ChildProcessByStdio<null, Readable, Readable>;
  proc.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return proc;
}

describe('lab cleanup on failure', { timeout: 120_000 }, () => {
  const prefix = `wlf${process.pid.toString(36)}`;

  it('removes what a failing build created', async () => {
    const before = liveCount();
    await assert.rejects(buildTopology({ tag: 'wlf', rsGateway: 'not-an-address' }), /WLVS|failed|exited/);
    assert.deepEqual(netnsList().filter((n) => n.startsWith(prefix)), []);
    assert.equal(liveCount(), before);
  });

  for (const how of ['SIGTERM', 'uncaught exception'] as const) {
    it(`removes namespaces and processes when the building process gets ${how}`, async () => {
      const script = `
        import { buildTopology } from ${JSON.stringify(TOPOLOGY)};
        const topo = await buildTopology({ tag: 'wlk', realServers: 1 });
        const child = topo.spawn('rs1', 'sleep', ['60']);
        console.log(JSON.stringify({ id: topo.lab.id, pid: child.pid }));
        ${how === 'SIGTERM' ? 'setInterval(() => {}, 1000);' : "setTimeout(() => { throw new Error('boom'); }, 100);"}`;
      const proc = spawnModule(script, ['ignore', 'pipe', 'pipe']);
      let stderr = '';
      proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const info = await new Promise<{ id: string; pid: number }>((resolve, reject) => {
        proc.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { id: string; pid: number }));
        proc.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      assert.ok(netnsList().some((n) => n.startsWith(info.id)));
      assert.ok(alive(info.pid));
      // process.kill, not proc.kill: Deno's child_process reports the signal proc.kill sent as
      // the way the child ended, not the exit code the child's handler chose
      if (how === 'SIGTERM') process.kill(proc.pid!, 'SIGTERM');
      const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
      assert.equal(code, how === 'SIGTERM' ? 143 : 1, stderr);
      if (how !== 'SIGTERM') assert.match(stderr, /boom/);
      assert.deepEqual(netnsList().filter((n) => n.startsWith(info.id)), []);
      assert.ok(await waitGone(info.pid), 'the process spawned in the lab survived');
    });
  }

  it('kills a lab process with the parent-death signal when the builder is SIGKILLed', { skip: !existsSync('/usr/bin/setpriv') }, async () => {
    const lab = new Lab('wlt');
    await lab.addNamespace('a');
    try {
      // node builds nothing here: it only spawns through the lab and is then killed hard
      const script = `
        import { Lab } from ${JSON.stringify(new URL('../../src/lab/netns.js', import.meta.url).pathname)};
        const lab = new Lab('wlk');
        const fake = { ns: () => ${JSON.stringify(lab.ns('a'))} };
        lab.ns = fake.ns;
        const c = lab.spawn('a', 'sleep', ['60']);
        console.log(c.pid);
        setInterval(() => {}, 1000);`;
      const proc = spawnModule(script, ['ignore', 'pipe', 'inherit']);
      const pid = await new Promise<number>((resolve) => proc.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))));
      assert.ok(alive(pid));
      // the signal is armed once setpriv ran (it then execs ip netns exec, which execs sleep): a
      // builder killed in the instant between fork and prctl leaves an orphan no signal reaches,
      // a race of the test on a loaded machine (it failed once on Deno), not of the lab
      for (const end = Date.now() + 5000; Date.now() < end && !cmdline(pid).startsWith('sleep');) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(cmdline(pid).startsWith('sleep'), `the child became sleep: ${cmdline(pid)}`);
      proc.kill('SIGKILL');
      assert.ok(await waitGone(pid), 'orphan survived its parent');
    } finally {
      await lab.destroy();
    }
  });
});
