// Configuration of director.cluster: defaults, the members' local addresses against this
// director's one Full-NAT pool (director.fullnat) and its other addresses, the BGP rules
// (RFC 4271 hold time, eBGP only), what a cluster member cannot be, and the YAML round trip.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { toYaml } from '../../src/config/to-yaml.js';
import { WlvsError } from '../../src/errors.js';

// d1 of three Full-NAT members, as docs/config.md shows it
const FNAT = `director:
  devices: [ { name: wlvs0, kind: tun, addresses: [10.99.2.231/24] } ]
  fullnat: { local_addresses: [10.99.3.1] }
  cluster:
    name: d1
    bgp:
      local_as: 65001
      local_address: 10.99.2.21
      neighbors: [ { address: 10.99.2.254, as: 65000 } ]
    members:
      - { name: d1, sync: 10.99.2.21:8849, local_addresses: [10.99.3.1] }
      - { name: d2, sync: 10.99.2.22:8849, local_addresses: [10.99.3.2] }
      - { name: d3, sync: 10.99.2.23:8849, local_addresses: [10.99.3.3] }
    sync: { auth_key_file: /etc/wlvs/cluster.key }
services:
  - { name: web, vip: 10.99.100.1, port: 80, scheduler: mh, forwarding: fullnat,
      real_servers: [ { address: 10.99.2.11 }, { address: 10.99.2.12 } ] }
`;

// the same member with TUN and mid-flow takeover, no pool and no sync
const TUN = FNAT.replace('  fullnat: { local_addresses: [10.99.3.1] }\n', '')
  .replace(/, local_addresses: \[10\.99\.3\.\d\]/g, '')
  .replace('    sync: { auth_key_file: /etc/wlvs/cluster.key }\n', '')
  .replace('forwarding: fullnat,', 'forwarding: tun, accept_mid_flow: true,');

function errorOf(text: string): string {
  try {
    parseConfig(text, 'd1.yaml');
  } catch (err) {
    assert.ok(WlvsError.is(err));
    assert.equal(err.code, 'WLVS_ERR_CONFIG_INVALID');
    return err.message;
  }
  assert.fail('expected an error');
}

describe('config: director.cluster', () => {
  it('reads a Full-NAT member with its defaults', () => {
    const s = parseConfig(FNAT, 'd1.yaml');
    const c = s.cluster!;
    assert.equal(c.name, 'd1');
    assert.deepEqual([c.bgp.localAs, c.bgp.localAddress, c.bgp.routerId], [65001, '10.99.2.21', '10.99.2.21']);
    assert.deepEqual(c.bgp.neighbors, [{ address: '10.99.2.254', as: 65000, password: null }]);
    assert.deepEqual([c.bgp.holdTime, c.bgp.keepaliveTime, c.bgp.bfd, c.bgp.backupPrepend], [3, 1, null, 3]);
    assert.deepEqual([c.watchdogMs, c.withdrawGraceMs, c.drainDeadlineS, c.drainQuietMs], [500, 500, 300, 2000]);
    assert.deepEqual(c.members.map((m) => [m.name, m.sync?.port, m.localAddresses]),
      [['d1', 8849, ['10.99.3.1']], ['d2', 8849, ['10.99.3.2']], ['d3', 8849, ['10.99.3.3']]]);
    assert.deepEqual(c.sync, { authKeyFile: '/etc/wlvs/cluster.key' });
    assert.deepEqual(s.fullnat.localAddresses.map((l) => l.address), ['10.99.3.1']);
    assert.deepEqual(parseConfig(toYaml(s), 'again'), s);
  });

  it('reads a TUN member: BFD, timers, mid-flow takeover', () => {
    const s = parseConfig(TUN.replace('      local_address: 10.99.2.21\n',
      '      local_address: 10.99.2.21\n      hold_time: 6\n      bfd: { interval: 0.05 }\n'), 'd1.yaml');
    assert.deepEqual([s.cluster!.bgp.holdTime, s.cluster!.bgp.keepaliveTime], [6, 2]);
    assert.deepEqual(s.cluster!.bgp.bfd, { intervalMs: 50, multiplier: 3 });
    assert.equal(s.services[0].acceptMidFlow, true);
    assert.deepEqual(parseConfig(toYaml(s), 'again'), s);
  });

  it('expands prefixes among a member\'s local addresses as director.fullnat does', () => {
    const s = parseConfig(FNAT.replace(/10\.99\.3\.1\]/g, '10.99.3.4/30]'), 'd1.yaml');
    const want = ['10.99.3.4', '10.99.3.5', '10.99.3.6', '10.99.3.7'];
    assert.deepEqual(s.fullnat.localAddresses.map((l) => l.address), want);
    assert.deepEqual(s.cluster!.members[0].localAddresses, want);
  });

  const refused: [string, string, RegExp][] = [
    ['a pool address not listed for this member', FNAT.replace('[10.99.3.1] }\n  cluster', '[10.99.3.1, 10.99.3.9] }\n  cluster'),
      /director\.fullnat local address 10\.99\.3\.9 is not listed for d1/],
    ['a listed address outside this member\'s pool', FNAT.replace('sync: 10.99.2.21:8849, local_addresses: [10.99.3.1]',
      'sync: 10.99.2.21:8849, local_addresses: [10.99.3.1, 10.99.3.9]'), /10\.99\.3\.9 is listed for d1 but not in its director\.fullnat/],
    ['one local address for two members', FNAT.replace('local_addresses: [10.99.3.3]', 'local_addresses: [10.99.3.2]'),
      /local address 10\.99\.3\.2 belongs to d2 and d3/],
    ['a local address listed twice for a member', FNAT.replace('local_addresses: [10.99.3.3]', 'local_addresses: [10.99.3.3, 10.99.3.3]'),
      /local address 10\.99\.3\.3 is listed twice for d3/],
    ['another member\'s local address that is a real server here', FNAT.replace('local_addresses: [10.99.3.3]', 'local_addresses: [10.99.2.12]'),
      /local address 10\.99\.2\.12 of d3 is also a real server of services\[0\]/],
    ['another member\'s local address that is a VIP', FNAT.replace('local_addresses: [10.99.3.2]', 'local_addresses: [10.99.100.1]'),
      /local address 10\.99\.100\.1 of d2 is also the VIP of services\[0\]/],
    ['a member\'s local address that is not an address', FNAT.replace('local_addresses: [10.99.3.2]', 'local_addresses: [d2-lip]'),
      /members\[1\]\.local_addresses\[0\]: expected an IPv4 address or prefix/],
    ['this director missing from the members', FNAT.replace('    name: d1\n', '    name: d4\n'), /this director \(d4\) is not among the members/],
    ['a member listed twice', FNAT.replace('name: d3,', 'name: d2,'), /member d2 is listed twice/],
    ['sync without this member\'s sync address', FNAT.replace('{ name: d1, sync: 10.99.2.21:8849, ', '{ name: d1, '),
      /session sync needs a sync address \(IPv4:port\) for d1/],
    ['a tap device', FNAT.replace('kind: tun', 'kind: tap, bridge: br0'), /a cluster member needs a tun device/],
    ['ha and cluster together', FNAT.replace('  cluster:\n', '  ha: { group: 7 }\n  cluster:\n'),
      /either one of a pair \(ha\) or a cluster member/],
    ['iBGP', FNAT.replace('as: 65000', 'as: 65001'), /iBGP is not supported/],
    ['a hold time under 3 s', FNAT.replace('      local_address: 10.99.2.21\n', '      local_address: 10.99.2.21\n      hold_time: 2\n'),
      /must be 0 or at least 3 seconds \(RFC 4271\)/],
    ['AS_TRANS', FNAT.replace('local_as: 65001', 'local_as: 23456'), /expected an AS number/],
    ['no neighbour', FNAT.replace('neighbors: [ { address: 10.99.2.254, as: 65000 } ]', 'neighbors: []'), /at least one neighbor/],
    ['a password BIRD cannot quote', FNAT.replace('as: 65000 }', 'as: 65000, password: \'a"b\' }'), /without " or \\/],
    ['mid-flow takeover under another scheduler', TUN.replace('scheduler: mh', 'scheduler: wrr'), /accept_mid_flow: needs scheduler mh/],
    ['mid-flow takeover with fullnat', FNAT.replace('forwarding: fullnat,', 'forwarding: fullnat, accept_mid_flow: true,'),
      /only dr and tun flows can continue on another director/],
  ];
  for (const [what, text, re] of refused) {
    it(`refuses ${what}`, () => assert.match(errorOf(text), re));
  }
});
