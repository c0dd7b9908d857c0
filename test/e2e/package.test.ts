// The npm package as an operator gets it: `npm pack` (which builds), then `npm i -g` of the
// tarball into a clean prefix (node-gyp builds the addon there; the built WASM core ships in the
// package), `wlvs --version`, `wlvs check`, and `wlvs run --user nobody` in a namespace lab:
// traffic flows through the VIP, and no thread of the director keeps a capability.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import { LAB_VIP_TAP, type RunningDirector, labConfig, rsGatewayFor, startDirector, startRealServers } from '../../src/lab/lab-director.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

describe('npm package', { timeout: 600_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wlvs-pkg-'));
  const prefix = join(tmp, 'prefix');
  let bin: string;
  let topo: Topology;
  let dir: RunningDirector;
  const env = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr', npm_config_loglevel: 'error' };

  before(() => {
    const t0 = Date.now();
    const tarball = execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: ROOT, env, encoding: 'utf8' })
      .trim().split('\n').pop()!;
    console.log(`# packed ${tarball} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    execFileSync('npm', ['i', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', join(tmp, tarball)],
      { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    console.log(`# installed into ${prefix} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    bin = join(prefix, 'bin/wlvs');
  });
  after(async () => {
    await topo?.lab.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('installs what it needs: its addon built at install, the WASM core, the dashboard assets; no tests', () => {
    const pkg = join(prefix, 'lib/node_modules/wlvs');
    for (const f of ['native/build/Release/wlvs_io.node', 'build/core.wasm', 'dist/src/cli/index.js', 'dist/src/api/dashboard/uPlot.iife.min.js',
      'packaging/wlvs.service']) {
      assert.ok(existsSync(join(pkg, f)), f);
    }
    assert.ok(!existsSync(join(pkg, 'dist/test')) && !existsSync(join(pkg, 'node_modules/uplot')), 'no tests, no devDependencies');
  });

  it('wlvs --version and wlvs check run from the installed package', () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    assert.match(execFileSync(bin, ['--version'], { encoding: 'utf8' }), new RegExp(`^wlvs ${version.replaceAll('.', '\\.')} `));
    const conf = join(tmp, 'check.yaml');
    writeFileSync(conf, stringify({ director: { devices: [{ name: 'x0', kind: 'tap', addresses: ['10.0.0.1/24'] }] }, services: [] }));
    assert.match(execFileSync(bin, ['check', conf], { encoding: 'utf8' }), /is valid/);
  });

  it('wlvs run --user nobody in a lab: traffic through the VIP, no capability left in any thread', async () => {
    topo = await buildTopology({ rsGateway: rsGatewayFor('nat', 'tap'), tag: 'wp' });
    await startRealServers(topo, { forwarding: 'nat', vip: LAB_VIP_TAP });
    dir = await startDirector(topo, (token) => labConfig(topo, 'tap', { forwarding: 'nat' }, token),
      { bin: join(prefix, 'lib/node_modules/wlvs/bin/wlvs.js'), runArgs: ['--user', 'nobody'] });
    const answer = JSON.parse(await topo.lab.exec(topo.client.role, 'curl', ['-s', '--max-time', '3', `http://${LAB_VIP_TAP}/`]));
    assert.match(answer.server, /^rs\d$/);
    const pid = dir.child.pid!;
    assert.ok(dir.output.some((l) => l.includes('"event":"privileges_dropped"')), dir.output.join('\n'));
    const tasks = execFileSync('ls', [`/proc/${pid}/task`], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(tasks.length > 3, `${tasks.length} threads`);
    for (const t of tasks) {
      const status = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      assert.match(status, /^CapEff:\s*0+$/m, `thread ${t}`);
      assert.match(status, /^CapPrm:\s*0+$/m, `thread ${t}`);
      assert.match(status, /^Uid:\s*65534\s+65534\s+65534/m, `thread ${t}`);
    }
  });
});
