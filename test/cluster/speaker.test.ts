// The BGP speaker against a real BIRD 2 on loopback (its only neighbour, 127.0.0.2, listens for
// nothing, so no session forms and nothing leaves the host): the generated configuration parses,
// the control-socket client reads replies as birdc does, announcements follow setWanted(), the
// watchdog withdraws everything when heartbeats stop and announces again when they resume, and
// BIRD dies with its keeper's parent, even on SIGKILL.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BirdClient, ReplyParser, parseProtocols } from '../../src/cluster/bird-cli.js';
import { birdConfig, protocolName } from '../../src/cluster/bird-config.js';
import { BirdSpeaker } from '../../src/cluster/speaker.js';
import { defaultBirdBinary } from '../../src/config/cluster.js';
import { createLogger } from '../../src/log.js';
import { currentRuntime, scriptCommand } from '../../src/sys/runtime.js';
import type { ClusterSpec } from '../../src/model/spec.js';

const BIRD = defaultBirdBinary();
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function spec(o: Partial<ClusterSpec> = {}): ClusterSpec {
  const dir = mkdtempSync(join(tmpdir(), 'wlvs-speaker-'));
  dirs.push(dir);
  return {
    name: 'd1',
    bgp: {
      localAs: 65001, localAddress: '127.0.0.1', localAddress6: null, routerId: '10.255.0.1', neighbors: [{ address: '127.0.0.2', as: 65000, password: null }],
      holdTime: 3, keepaliveTime: 1, bfd: null, backupPrepend: 3,
    },
    bird: { binary: BIRD, stateDir: dir },
    watchdogMs: 200, withdrawGraceMs: 0, drainDeadlineS: 300, drainQuietMs: 2000, members: [], sync: null,
    ...o,
  };
}

const log = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the state (up/down) of every wlvs_* protocol, read from BIRD itself */
async function states(socket: string): Promise<Record<string, string>> {
  const c = await BirdClient.connect(socket);
  try {
    const rows = parseProtocols(await c.request('show protocols'));
    return Object.fromEntries(rows.filter((r) => r.name.startsWith('wlvs_')).map((r) => [r.name, r.state]));
  } finally {
    c.close();
  }
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** alive: the process runs (a zombie has died: only its parent, maybe init, has not reaped it yet) */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('BIRD control protocol', () => {
  it('parses replies with continuation lines, table rows and errors as birdc does', () => {
    const p = new ReplyParser();
    const text = '0001 BIRD 2.0.12 ready.\n1000-BIRD 2.0.12\n1011-Router ID is 10.0.0.1\n Hostname is vm\n0013 Daemon is up and running\n' +
      '2002-Name       Proto      Table      State  Since         Info\n1002-device1    Device     ---        up     ' +
      '2026-12-01 21:36:49  \n uplink1    BGP        ---        up     2026-12-01 21:36:51  Established   \n0000 \n9001 syntax error\n';
    // split anywhere: the parser must not depend on how the socket cuts the stream
    const replies = [...p.push(text.slice(0, 37)), ...p.push(text.slice(37, 140)), ...p.push(text.slice(140))];
    assert.equal(replies.length, 4);
    assert.deepEqual(replies.map((r) => r.code), [1, 13, 0, 9001]);
    assert.deepEqual(replies[1].lines.map((l) => l.code), [1000, 1011, 1011, 13]);
    assert.equal(replies[1].lines[2].text, 'Hostname is vm');
    const rows = parseProtocols(replies[2]);
    assert.deepEqual(rows.map((r) => [r.name, r.state, r.since, r.info]),
      [['device1', 'up', '2026-12-01 21:36:49', ''], ['uplink1', 'up', '2026-12-01 21:36:51', 'Established']]);
  });

  it('the generated configuration is one BIRD 2 accepts (bird -p)', () => {
    const c = spec({ members: [{ name: 'd1', sync: null, localAddresses: ['10.99.3.1'] }, { name: 'd2', sync: null, localAddresses: ['10.99.3.2'] }] });
    c.bgp.bfd = { intervalMs: 100, multiplier: 3 };
    c.bgp.neighbors.push({ address: '127.0.0.3', as: 65010, password: 'se-cret' });
    const text = birdConfig(c, [
      { prefix: '10.99.100.1', kind: 'vip', enabled: true }, { prefix: '10.99.3.1', kind: 'lip', enabled: false },
      { prefix: '10.99.3.2', kind: 'backup', enabled: true },
    ]);
    const file = join(c.bird.stateDir!, 'check.conf');
    writeFileSync(file, text);
    execFileSync(BIRD, ['-p', '-c', file]);
    assert.match(text, /protocol static wlvs_lip_10_99_3_1 \{ disabled; ipv4; route 10\.99\.3\.1\/32 blackhole; \}/);
    assert.match(text, /if proto ~ "wlvs_bak_\*" then \{ (bgp_path\.prepend\(65001\); ){3}\}/);
    assert.match(text, /password "se-cret";/);
    assert.match(text, /bfd on;/);
    assert.match(text, /graceful restart off;/);
  });

  it('IPv6: /128 blackholes on the ipv6 channel, an IPv6 session from local_address6 beside the IPv4 one', () => {
    const c = spec();
    c.bgp.localAddress6 = '::1';
    c.bgp.neighbors.push({ address: '::2', as: 65000, password: null });
    const text = birdConfig(c, [
      { prefix: '10.99.100.1', kind: 'vip', enabled: true }, { prefix: '2001:db8:100::1', kind: 'vip', enabled: true },
      { prefix: '2001:db8:3::2', kind: 'backup', enabled: false },
    ]);
    const file = join(c.bird.stateDir!, 'check6.conf');
    writeFileSync(file, text);
    execFileSync(BIRD, ['-p', '-c', file]);
    assert.equal(protocolName('vip', '2001:db8:100::1'), 'wlvs_vip_2001_db8_100__1');
    assert.match(text, /protocol static wlvs_vip_2001_db8_100__1 \{ ipv6; route 2001:db8:100::1\/128 blackhole; \}/);
    assert.match(text, /protocol static wlvs_bak_2001_db8_3__2 \{ disabled; ipv6; route 2001:db8:3::2\/128 blackhole; \}/);
    const sessions = text.split('protocol bgp ').slice(1);
    assert.equal(sessions.length, 2);
    assert.match(sessions[0], /local 127\.0\.0\.1 as 65001;[^]*neighbor 127\.0\.0\.2 as 65000;[^]*ipv4 \{ import none; export filter wlvs_export; \};/);
    assert.doesNotMatch(sessions[0], /ipv6/);
    assert.match(sessions[1], /local ::1 as 65001;[^]*neighbor ::2 as 65000;[^]*ipv6 \{ import none; export filter wlvs_export; \};/);
    assert.doesNotMatch(sessions[1], /ipv4/);
  });
});

describe('BIRD speaker and watchdog', { timeout: 60_000 }, () => {
  it('announces what it is asked to, reconfigures for new prefixes, and stops BIRD', async () => {
    const s = new BirdSpeaker(spec(), log);
    const beat = setInterval(() => s.heartbeat(), 25);
    try {
      await s.start();
      const vip = protocolName('vip', '10.99.100.1');
      const lip = protocolName('lip', '10.99.3.1');
      s.setWanted([{ prefix: '10.99.100.1', kind: 'vip', enabled: true }, { prefix: '10.99.3.1', kind: 'lip', enabled: false }]);
      await until('the first announcements', async () => (await states(s.socketPath))[vip] === 'up');
      assert.equal((await states(s.socketPath))[lip], 'down');
      assert.deepEqual(s.announced(), [{ prefix: '10.99.100.1', kind: 'vip' }]);
      // flip both: enable/disable over the socket, no reconfiguration
      const reconf = s.stats.reconfigurations;
      s.setWanted([{ prefix: '10.99.100.1', kind: 'vip', enabled: false }, { prefix: '10.99.3.1', kind: 'lip', enabled: true }]);
      await s.settled();
      assert.deepEqual(await states(s.socketPath), { [vip]: 'down', [lip]: 'up' });
      assert.equal(s.stats.reconfigurations, reconf);
      // a new VIP: a new configuration, the others keep their state
      s.setWanted([{ prefix: '10.99.100.1', kind: 'vip', enabled: false }, { prefix: '10.99.3.1', kind: 'lip', enabled: true },
        { prefix: '10.99.100.2', kind: 'vip', enabled: true }]);
      await s.settled();
      await until('the reconfiguration', async () => Object.keys(await states(s.socketPath)).length === 3);
      assert.deepEqual(await states(s.socketPath), { [vip]: 'down', [lip]: 'up', [protocolName('vip', '10.99.100.2')]: 'up' });
      assert.equal(s.stats.reconfigurations, reconf + 1);
      assert.equal(s.neighbors[0].up, false, 'nobody listens at 127.0.0.2');
      const pid = (s.view().bird as { pid: number }).pid;
      assert.ok(alive(pid));
      await s.stop();
      await until('BIRD to exit', () => !alive(pid));
    } finally {
      clearInterval(beat);
      await s.stop();
    }
  });

  it('the watchdog withdraws everything when the heartbeats stop, and they come back with them', async () => {
    const s = new BirdSpeaker(spec({ watchdogMs: 150 }), log);
    const events: string[] = [];
    s.onEvent((e) => events.push(e.event));
    let beating = true;
    // measured from the last beat really given: on a loaded machine the 20 ms timer runs late
    let lastBeat = 0;
    const beat = setInterval(() => {
      if (!beating) return;
      s.heartbeat();
      lastBeat = Date.now();
    }, 20);
    try {
      await s.start();
      const vip = protocolName('vip', '10.99.100.1');
      s.setWanted([{ prefix: '10.99.100.1', kind: 'vip', enabled: true }]);
      await until('the announcement', async () => (await states(s.socketPath))[vip] === 'up');
      beating = false;
      await until('the watchdog', async () => (await states(s.socketPath))[vip] === 'down', 3000);
      const took = Date.now() - lastBeat;
      assert.ok(took >= 100 && took < 1500, `withdrawn ${took} ms after the last beat`);
      // the keeper reports after BIRD answered; the report may trail BIRD's new state
      await until('the stall report', () => events.includes('stall'), 2000);
      assert.equal(s.stats.stalls, 1);
      assert.deepEqual(s.announced(), []);
      beating = true;
      await until('the announcement again', async () => (await states(s.socketPath))[vip] === 'up');
      await until('the resume report', () => events.includes('resumed'), 2000);
    } finally {
      clearInterval(beat);
      await s.stop();
    }
  });

  it('the keeper reports a resumption only after the withdrawal it interrupted', async () => {
    // BIRD stopped: the withdrawal waits for it (then kills it); a heartbeat arrives meanwhile
    const c = spec({ watchdogMs: 100 });
    const keeper = spawn(process.execPath, [new URL('../../src/cluster/keeper.js', import.meta.url).pathname, '--bird', BIRD,
      '--config', join(c.bird.stateDir!, 'bird.conf'), '--socket', join(c.bird.stateDir!, 'bird.ctl'), '--watchdog-ms', '100'],
    { stdio: ['pipe', 'pipe', 'inherit'] });
    writeFileSync(join(c.bird.stateDir!, 'bird.conf'), birdConfig(c, [{ prefix: '10.99.100.1', kind: 'vip', enabled: true }]));
    const events: { event: string; pid?: number; withdrawn?: string }[] = [];
    let buf = '';
    keeper.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) events.push(JSON.parse(l));
    });
    try {
      keeper.stdin!.write('start\nbeat\n');
      await until('BIRD', () => events.some((e) => e.event === 'bird_started'));
      const pid = events.find((e) => e.event === 'bird_started')!.pid!;
      await until('its socket', () => { try { return readFileSync(`/proc/${pid}/net/unix`, 'utf8').includes('bird.ctl'); } catch { return false; } });
      process.kill(pid, 'SIGSTOP');
      await sleep(150);
      // the stall fired (100 ms); its withdrawal waits up to 300 ms for the stopped BIRD
      keeper.stdin!.write('beat\n');
      await until('the resumption', () => events.some((e) => e.event === 'resumed'), 3000);
      const order = events.map((e) => e.event).filter((e) => e === 'stall' || e === 'resumed').slice(0, 2);
      assert.deepEqual(order, ['stall', 'resumed']);
      assert.equal(events.find((e) => e.event === 'stall')!.withdrawn, 'killed', 'a BIRD that does not answer is killed');
      await until('BIRD gone', () => !alive(pid));
    } finally {
      keeper.stdin!.end();
      await new Promise((r) => keeper.once('exit', r));
    }
  });

  it('BIRD dies with wlvs: a SIGKILLed parent takes its keeper and BIRD along', async () => {
    const c = spec();
    const script = `
      import { BirdSpeaker } from ${JSON.stringify(new URL('../../src/cluster/speaker.js', import.meta.url).href)};
      import { createLogger } from ${JSON.stringify(new URL('../../src/log.js', import.meta.url).href)};
      const s = new BirdSpeaker(${JSON.stringify(c)}, createLogger({ level: 'silent' }));
      setInterval(() => s.heartbeat(), 25);
      await s.start();
      console.log('PID ' + s.view().bird.pid);
      setInterval(() => undefined, 1000);`;
    // a file, not `node -e`: the parent runs on the runtime of the test (Node or Deno)
    // beside the compiled test, so that Deno resolves its npm imports from the project
    const tmp = mkdtempSync(join(new URL('.', import.meta.url).pathname, 'parent-'));
    dirs.push(tmp);
    const file = join(tmp, 'parent.mjs');
    writeFileSync(file, script);
    const [exe, args] = scriptCommand(file, [], currentRuntime);
    const parent = spawn(exe, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /PID (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.once('exit', (code) => reject(new Error(`parent exited ${code}: ${out}`)));
    });
    assert.ok(alive(pid));
    parent.kill('SIGKILL');
    const t0 = Date.now();
    await until('BIRD to die', () => !alive(pid), 3000);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('a BIRD that cannot start is a clear error', async () => {
    const s = new BirdSpeaker(spec({ bird: { binary: '/nonexistent/bird', stateDir: null } }), log);
    await assert.rejects(s.start(2000), /WLVS_ERR_BIRD|cannot run BIRD|did not open/);
    await s.stop();
  });
});
