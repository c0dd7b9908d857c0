// The kernel TAP device's own MAC (tapDeviceMac): a Linux bridge without a configured MAC takes
// the lowest of its ports' (net/bridge/br_stp_if.c, br_stp_recalculate_bridge_id), so the TAP's
// must sort above the ports already there and still differ from the MAC the director answers with.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { directorMac, tapDeviceMac } from '../../src/io/device.js';

const bytes = (mac: string) => mac.split(':').map((x) => parseInt(x, 16));
const compare = (a: string, b: string) => {
  const x = bytes(a);
  const y = bytes(b);
  for (let i = 0; i < 6; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};
/** a MAC as the kernel makes one for a veth or TAP (eth_random_addr: unicast, locally administered) */
const kernelRandomMac = () => {
  const b = [...randomBytes(6)];
  b[0] = (b[0] & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
};

describe('tapDeviceMac', () => {
  it('is a unicast, locally administered MAC that differs from the director MAC it comes from', () => {
    for (const name of ['wlvs-ext', 'wlvs-int', 'tap0']) {
      const director = directorMac(name, '10.0.0.1/24');
      const tap = tapDeviceMac(director);
      assert.match(tap, /^fe:ff(:[0-9a-f]{2}){4}$/);
      assert.equal(bytes(tap)[0] & 1, 0, 'unicast');
      assert.equal(bytes(tap)[0] & 2, 2, 'locally administered');
      assert.notEqual(tap, director);
      assert.equal(tapDeviceMac(director), tap, 'stable across restarts');
    }
  });

  it('differs from a configured director MAC that already starts with fe:ff', () => {
    for (const director of ['fe:ff:00:11:22:33', 'FE:FF:00:11:22:33']) {
      assert.notEqual(tapDeviceMac(director), director.toLowerCase());
      assert.equal(tapDeviceMac(director), 'fe:ff:00:11:22:32');
    }
  });

  it('sorts above the random MACs of the ports a bridge already has, so the bridge keeps its MAC', () => {
    const tap = tapDeviceMac(directorMac('wlvs-int', '10.99.2.1/24'));
    let below = 0;
    for (let i = 0; i < 10_000; i++) if (compare(kernelRandomMac(), tap) < 0) below++;
    // a random port MAC sorts above fe:ff:... about once in 16384
    assert.ok(below >= 9_990, `${below} of 10000 random port MACs sort below ${tap}`);
  });
});
