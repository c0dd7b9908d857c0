// `wlvs check CONFIG` and the CLI's own texts: good and bad files, exit codes 0/1, every problem
// printed (loader issues with file:line, what the director or the admin listener would refuse).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig } from '../../src/cli/check.js';
import { HELP } from '../../src/cli/help.js';

const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;
const wlvs = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

const GOOD = `director:
  devices:
    - { name: wlvs-ext, kind: tap, addresses: [10.99.1.1/24] }
  admin: { listen: 127.0.0.1:9180 }
services:
  - name: web
    vip: 10.99.1.100
    port: 80
    real_servers:
      - { address: 10.99.1.11 }
      - { address: 10.99.1.12, weight: 2 }
`;

describe('wlvs check', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  before(() => { dir = mkdtempSync(join(tmpdir(), 'wlvs-check-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a valid file: exit 0 and a summary', () => {
    const r = wlvs('check', file('good.yaml', GOOD));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /good\.yaml is valid: 1 device\(s\), 1 service\(s\), 2 real server\(s\), \d+ MiB/);
  });

  it('lists every problem of the file with line numbers: exit 1', () => {
    const bad = GOOD.replace('port: 80', 'port: 80\n    colour: blue').replace('weight: 2', 'weight: -2');
    const r = wlvs('check', file('bad.yaml', bad));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.yaml:9:\d+ services\[0\]\.colour: unknown key/);
    assert.match(r.stderr, /bad\.yaml:\d+:\d+ services\[0\]\.real_servers\[1\]\.weight/);
    assert.match(r.stderr, /is NOT valid/);
  });

  it('refuses what run refuses after loading: the token file, the admin address, the failover key, the core', () => {
    const short = file('short.token', 'abc\n');
    const withToken = GOOD.replace('admin: { listen: 127.0.0.1:9180 }', `admin: { listen: 127.0.0.1:9180, token_file: ${short} }`);
    let r = checkConfig(file('token.yaml', withToken));
    assert.equal(r.ok, false);
    assert.match(r.errors.join('\n'), /token_file: token in .* is shorter than 8 characters/);

    r = checkConfig(file('listen.yaml', GOOD.replace('127.0.0.1:9180', 'localhost')));
    assert.match(r.errors.join('\n'), /director\.admin\.listen: expected ADDRESS:PORT/);

    const key = file('ha.key', 'k'.repeat(32));
    chmodSync(key, 0o644);
    const ha = GOOD.replace('  admin:', `  ha: { auth_key_file: ${key}, listen: 10.99.1.1:8848, peer: 10.99.1.2:8848 }\n  admin:`);
    r = checkConfig(file('ha.yaml', ha));
    assert.match(r.errors.join('\n'), /auth_key_file: auth key .* readable or writable by others/);
    chmodSync(key, 0o600);
    assert.deepEqual(checkConfig(join(dir, 'ha.yaml')).errors, []);

    r = checkConfig(file('core.yaml', GOOD), join(dir, 'no-such.wasm'));
    assert.match(r.errors.join('\n'), /WASM core: cannot load WASM core/);
  });

  it('reports an unreadable file and a usage error with their own exit codes', () => {
    assert.equal(wlvs('check', join(dir, 'missing.yaml')).status, 1);
    assert.equal(wlvs('check').status, 2);
  });
});

describe('wlvs --version and help', () => {
  it('prints the package version', () => {
    const r = wlvs('--version');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^wlvs \d+\.\d+\.\d+ \(WASM core ABI \d+, node v\d+/);
  });

  it('has a page for every command, by `help COMMAND` and `COMMAND --help`', () => {
    for (const cmd of ['run', 'check', 'status', 'conns', 'add', 'edit', 'del', 'drain', 'reload', 'hot-swap', 'import', 'lab', 'realserver']) {
      const a = wlvs('help', cmd);
      assert.equal(a.status, 0, cmd);
      assert.equal(a.stdout.trim(), HELP[cmd]);
      assert.match(a.stdout, new RegExp(`^usage: wlvs ${cmd}`));
      assert.equal(wlvs(cmd, '--help').stdout, a.stdout, cmd);
    }
    assert.equal(wlvs('help', 'nope').status, 2);
  });
});
