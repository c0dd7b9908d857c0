// The lab demos an operator runs first: `wlvs lab demo` (the quick start), `wlvs lab failover`
// and `wlvs lab cluster`, run as a user would, each building and removing its own lab.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { scriptCommand } from '../../src/sys/runtime.js';

const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;
// the runtime under test (WLVS_RUNTIME, else this one): `deno run -A bin/wlvs.js lab demo` is the Deno quick start
const run = (args: string[]) => promisify(execFile)(...scriptCommand(BIN, args), { timeout: 120_000 });

describe('lab demos', { timeout: 300_000 }, () => {
  it('wlvs lab demo spreads requests 1:2:1 and prints the counters', async () => {
    const { stdout } = await run(['lab', 'demo']);
    assert.match(stdout, /answers per server: (?=.*rs1=3)(?=.*rs2=6)(?=.*rs3=3)/);
    assert.match(stdout, /UDP 10\.99\.1\.100:5353 "hello" -> rs\d/);
    assert.match(stdout, /GET http:\/\/\[2001:db8:1::100\]\/ #4 -> rs\d \(it saw the client as 2001:db8:1::10\)/);
    assert.match(stdout, /TCP {2}\[2001:db8:1::100\]:80/);
    assert.match(stdout, /tearing the lab down/);
  });

  it('wlvs lab failover keeps a download alive across the master\'s death', async () => {
    const { stdout } = await run(['lab', 'failover']);
    assert.match(stdout, /director a: master \(priority 150\); director b: backup \(priority 100\)/);
    assert.match(stdout, /b is master \d+ ms later/);
    assert.match(stdout, /download finished: 25165824 bytes, SHA-256 matches/);
  });

  it('wlvs lab cluster keeps every download alive across a director\'s death', async () => {
    const { stdout } = await run(['lab', 'cluster']);
    assert.match(stdout, /every BGP session up/);
    assert.match(stdout, /nexthop via 10\.99\.2\.21 .*\n.*nexthop via 10\.99\.2\.22 .*\n.*nexthop via 10\.99\.2\.23/);
    assert.match(stdout, /the router dropped 10\.99\.2\.2\d \d+ ms after the kill/);
    assert.match(stdout, /9\/9 downloads complete and intact; [1-9] of them moved off d\d mid-transfer/);
    assert.match(stdout, /continued on d\d/);
  });
});
