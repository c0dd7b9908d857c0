// The supervisor over a director on fake devices, with scripted health checks stepped one
// runOnce() at a time: verdicts reach the tables, survive a reload that rebuilds the service,
// an invalid file changes nothing, runtime edits are counted until the next file reload.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { addRealServer } from '../../src/director/edits.js';
import { WlvsError } from '../../src/errors.js';
import type { Checker } from '../../src/health/checker.js';
import { decodeFrame } from '../oracle/packet.js';
import type { Supervisor } from '../../src/director/supervisor.js';
import {
  type FakeDirector, MANUAL_CHECK, RIPS, TAP_DIRECTOR, VIP, fromClient, startDirector, supervise, webService,
} from './fixture.js';

const config = (port: number, weights = [1, 1]) =>
  `${TAP_DIRECTOR}services:${webService({ port, weights, health: MANUAL_CHECK })}`;

/** a director whose configuration file is `config(80)` in a temp dir; removed afterwards */
async function withFile(body: (f: FakeDirector, sup: Supervisor, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wlvs-sup-'));
  const path = join(dir, 'wlvs.yaml');
  writeFileSync(path, config(80));
  const f = await startDirector(config(80));
  const sup = supervise(f, manual(new Set()), path);
  try {
    await body(f, sup, path);
  } finally {
    sup.stop();
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** a checker that fails for the addresses in `down` and passes for the others */
function checker(down: Set<string>): Checker {
  return async (t) => ({ ok: !down.has(t.address), message: down.has(t.address) ? 'refused' : 'ok', durationMs: 0 });
}

// first checks are an interval (an hour) away: only runOnce() checks
const manual = (down: Set<string>) => ({ checkers: { tcp: checker(down) }, random: () => 1 });
const weights = (sup: ReturnType<typeof supervise>) => sup.director.applier.view()[0].realServers.map((r) => r.weight);

describe('supervisor', () => {
  it('a failed check quiesces the server; the verdict survives a reload that rebuilds the service', async () => {
    const f = await startDirector(config(80));
    const down = new Set([RIPS[0]]);
    const sup = supervise(f, manual(down));
    try {
      assert.deepEqual(weights(sup), [1, 1]);
      await sup.health.runOnce(`web/${RIPS[0]}:8080`);
      assert.equal(sup.health.state(`web/${RIPS[0]}:8080`), 'down');
      assert.deepEqual(weights(sup), [0, 1]);
      assert.ok(f.lines.some((l) => l.event === 'health' && l.to === 'down' && l.real_server === `${RIPS[0]}:8080`));
      // another port makes it another service in the tables, with fresh real servers
      const report = await sup.apply(parseConfig(config(81)), 'test');
      assert.deepEqual(report.servicesAdded, ['web']);
      assert.deepEqual(weights(sup), [0, 1], 'the down verdict is applied to the new tables');
      for (let p = 0; p < 4; p++) {
        const [out] = f.send(0, [fromClient({ sport: 9000 + p, dport: 81, flags: 'S' })]);
        assert.equal(decodeFrame(out.frame, true).ip!.dst, RIPS[1]);
      }
      down.clear();
      await sup.health.runOnce(`web/${RIPS[0]}:8080`);
      assert.deepEqual(weights(sup), [1, 1], 'back after rise successes');
    } finally {
      sup.stop();
      await f.stop();
    }
  });

  it('reloads the file; an invalid file is refused with its errors and changes nothing', () => withFile(async (f, sup, path) => {
    writeFileSync(path, config(80, [3, 1]));
    const r = await sup.reload('test');
    assert.deepEqual(r.realServersChanged, [`web/${RIPS[0]}:8080`]);
    assert.deepEqual(weights(sup), [3, 1]);
    writeFileSync(path, config(80).replace(`vip: ${VIP}`, 'vip: 10.0.1.300'));
    await assert.rejects(sup.reload('test'), (e: unknown) => WlvsError.is(e) && e.code === 'WLVS_ERR_CONFIG_INVALID' &&
      /wlvs\.yaml:\d+:\d+ services\[0\]\.vip/.test(e.message));
    assert.deepEqual(weights(sup), [3, 1]);
    assert.equal(f.dir.spec.services[0].vip, VIP);
    assert.ok(f.lines.some((l) => l.event === 'reload_rejected'));
  }));

  it('counts runtime edits until the file is reloaded; an edit the director refuses changes nothing', () => withFile(async (f, sup) => {
    await sup.edit((s) => addRealServer(s, 'web', { address: RIPS[2], port: 8080 }), 'test');
    assert.equal(sup.runtimeEdits, 1);
    assert.equal(weights(sup).length, 3);
    assert.equal(sup.health.size, 3, 'the new server is checked too');
    // devices cannot change without a restart
    await assert.rejects(sup.edit((s) => ({ ...s, sessions: s.sessions * 2 }), 'test'),
      (e: unknown) => WlvsError.is(e) && e.code === 'WLVS_ERR_CONFIG_INVALID');
    assert.equal(sup.runtimeEdits, 1);
    assert.equal(weights(sup).length, 3);
    // valid as a file, but no device reaches the server: the tables go back to what they were
    const before = JSON.stringify(sup.director.applier.view());
    await assert.rejects(sup.edit((s) => addRealServer(s, 'web', { address: '192.0.2.1', port: 8080 }), 'test'),
      (e: unknown) => WlvsError.is(e) && /no device or route reaches real server 192\.0\.2\.1/.test(e.message));
    assert.equal(JSON.stringify(sup.director.applier.view()), before);
    assert.equal(sup.director.spec.services[0].realServers.length, 3);
    const [out] = f.send(0, [fromClient({ sport: 9100, dport: 80, flags: 'S' })]);
    assert.ok(out, 'still forwarding');
    await sup.reload('file');
    assert.equal(sup.runtimeEdits, 0);
    assert.equal(weights(sup).length, 2, 'the file replaces runtime edits, as with ipvsadm');
  }));
});
