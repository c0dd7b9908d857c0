// The systemd unit in packaging/ passes `systemd-analyze verify` and says what the docs promise
// (readiness by sd_notify, reload by SIGHUP, restart on failure, capabilities bounded); the
// director's sd_notify datagrams reach a unix socket as systemd's would receive them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notifier } from '../../src/cli/systemd.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const UNIT = readFileSync(join(ROOT, 'packaging/wlvs.service'), 'utf8');

/** the values of `key=` lines of the unit */
const values = (key: string) => UNIT.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

describe('packaging/wlvs.service', () => {
  it('passes systemd-analyze verify (with ExecStart pointing at this checkout)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-unit-'));
    try {
      const unit = join(dir, 'wlvs.service');
      writeFileSync(unit, UNIT.replaceAll('/usr/bin/wlvs', join(ROOT, 'bin/wlvs.js')));
      const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      assert.equal(r.error, undefined, 'systemd-analyze is installed (Debian package systemd, scripts/setup.sh)');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'no warnings');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports readiness, reloads by SIGHUP, restarts on failure, bounds capabilities', () => {
    assert.deepEqual(values('Type'), ['notify']);
    assert.deepEqual(values('ExecReload'), ['/bin/kill -HUP $MAINPID']);
    assert.deepEqual(values('Restart'), ['on-failure']);
    assert.deepEqual(values('CapabilityBoundingSet')[0].split(' ').sort(), ['CAP_NET_ADMIN', 'CAP_SETGID', 'CAP_SETUID']);
    assert.match(values('ExecStart')[0], /^\/usr\/bin\/wlvs run --user wlvs \S+\.yaml$/);
    assert.match(values('ExecStartPre')[0], /^\/usr\/bin\/wlvs check /);
  });
});

describe('sd_notify', () => {
  it('sends READY, STATUS, RELOADING and STOPPING datagrams to $NOTIFY_SOCKET (path and abstract)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-notify-'));
    try {
      for (const path of [join(dir, 'notify.sock'), `@wlvs-test-${process.pid}`]) {
        // Node has no unix datagram sockets: python3 plays systemd's receiving side
        const py = spawn('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
p = sys.argv[1]
s.bind('\\0' + p[1:] if p.startswith('@') else p)
print('bound', flush=True)
for _ in range(3):
    print(repr(s.recv(4096).decode()), flush=True)
`, path]);
        let out = '';
        py.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        while (!out.includes('bound')) await new Promise((r) => setTimeout(r, 20));
        const n = new Notifier({ NOTIFY_SOCKET: path });
        n.ready('2 services');
        n.reloading();
        n.stopping();
        await new Promise<void>((resolve) => py.on('exit', () => resolve()));
        const lines = out.trim().split('\n').slice(1);
        assert.equal(lines.length, 3, out);
        assert.match(lines[0], new RegExp(`READY=1\\\\nSTATUS=2 services\\\\nMAINPID=${process.pid}`));
        assert.match(lines[1], /RELOADING=1\\nMONOTONIC_USEC=\d+/);
        assert.match(lines[2], /STOPPING=1/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does nothing without $NOTIFY_SOCKET', () => {
    const n = new Notifier({});
    assert.equal(n.socket, null);
    n.ready('x');
  });
});
