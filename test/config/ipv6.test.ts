// IPv6 in the configuration: addresses as users write them (canonical RFC 5952 form kept),
// address-family rules per service with located errors, IPv6 persistence prefixes, fragments
// settings, and the YAML round trip.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { toYaml } from '../../src/config/to-yaml.js';
import { WlvsError } from '../../src/errors.js';
import { realServerKey } from '../../src/model/spec.js';

const head = `director:
  devices:
    - { name: wlvs0, kind: tap, addresses: [10.99.2.1/24, "2001:DB8:2::1/64"], bridge: br0 }
  routes:
    - { to: "::/0", via: "2001:db8:2::fe", device: wlvs0 }
`;

function errorOf(text: string): string {
  try {
    parseConfig(text, 'lab.yaml');
  } catch (err) {
    assert.ok(WlvsError.is(err));
    return (err as Error).message;
  }
  assert.fail('expected an error');
}

describe('IPv6 configuration', () => {
  it('takes IPv6 VIPs, servers, LIPs and routes, kept in canonical form', () => {
    const spec = parseConfig(`${head}  fullnat:
    local_addresses: [ "2001:db8:2::201", { address: "2001:db8:2::202", ports: 2000-3000 }, 10.99.2.201 ]
services:
  - { vip: "2001:db8:1:0::100", port: 443, forwarding: nat, persistence: 60, persistence_netmask: 64,
      real_servers: [ { address: "2001:0db8:2::11" }, { address: "2001:db8:2::12", port: 8443 } ] }
  - name: v6-full
    vip: "2001:db8:1::101"
    port: 80
    forwarding: fullnat
    real_servers: [ { address: "2001:db8:2::13" } ]
  - { name: nat64, vip: "2001:db8:1::64", port: 80, forwarding: fullnat, real_servers: [ { address: 10.99.2.11 } ] }
`);
    const [a, , c] = spec.services;
    assert.equal(a.name, 'tcp/[2001:db8:1::100]:443');
    assert.equal(a.vip, '2001:db8:1::100');
    assert.equal(a.persistencePrefix, 64);
    assert.deepEqual(a.realServers.map(realServerKey), ['[2001:db8:2::11]:443', '[2001:db8:2::12]:8443']);
    assert.deepEqual(spec.fullnat.localAddresses, [{ address: '2001:db8:2::201', portMin: 1024, portMax: 65535 },
      { address: '2001:db8:2::202', portMin: 2000, portMax: 3000 }, { address: '10.99.2.201', portMin: 1024, portMax: 65535 }]);
    assert.equal(c.realServers[0].address, '10.99.2.11');
    assert.deepEqual(spec.devices[0].addresses, ['10.99.2.1/24', '2001:db8:2::1/64']);
    assert.deepEqual(spec.routes[0], { to: '::/0', via: '2001:db8:2::fe', device: 'wlvs0' });
    assert.deepEqual(parseConfig(toYaml(spec)), spec, 'the YAML round trip gives the same spec');
  });

  it('refuses mixes of families a service cannot carry, with the place of each', () => {
    const msg = errorOf(`${head}  fullnat: { local_addresses: [10.99.2.201] }
services:
  - { vip: 10.99.100.1, port: 80, real_servers: [ { address: "2001:db8:2::11" } ] }
  - { vip: "2001:db8:1::100", port: 80, forwarding: nat, real_servers: [ { address: 10.99.2.11 } ] }
  - { vip: "2001:db8:1::101", port: 80, real_servers: [ { address: 10.99.2.11 }, { address: "2001:db8:2::12" } ] }
  - { vip: "2001:db8:1::102", port: 80, forwarding: fullnat, real_servers: [ { address: "2001:db8:2::12" } ] }
  - { vip: "2001:db8:1::103", port: 80, persistence: 60, persistence_netmask: 255.255.255.0, real_servers: [] }
  - { vip: "2001:db8::1::2", port: 80 }
`);
    assert.match(msg, /lab\.yaml:\d+:\d+ services\[0\]\.real_servers: an IPv4 VIP needs IPv4 real servers/);
    assert.match(msg, /services\[1\]\.forwarding: IPv4 real servers behind an IPv6 VIP need fullnat/);
    assert.match(msg, /services\[2\]\.real_servers: real servers of one service must all be IPv4 or all IPv6/);
    assert.match(msg, /director\.fullnat\.local_addresses: services\[3\] uses fullnat toward IPv6 real servers: the pool needs an IPv6 local address/);
    assert.match(msg, /director\.fullnat\.local_addresses: IPv4 local addresses are used only by fullnat services with IPv4 real servers/);
    assert.match(msg, /services\[4\]\.persistence_netmask: expected a prefix length 0\.\.128/);
    assert.match(msg, /services\[5\]\.vip: expected an IPv4 or IPv6 address/);
  });

  it('takes PROXY and TOA for IPv6 VIPs (Full-NAT 6->6, NAT66, NAT64); refuses IPv6 prefixes in the pool', () => {
    const spec = parseConfig(`${head}  fullnat: { local_addresses: ["2001:db8:2::201", 10.99.2.201] }
services:
  - { vip: "2001:db8:1::100", port: 80, forwarding: fullnat, toa: true, proxy_protocol: v1, real_servers: [ { address: "2001:db8:2::11" } ] }
  - { vip: "2001:db8:1::104", port: 80, forwarding: nat, proxy_protocol: v2, real_servers: [ { address: "2001:db8:2::14" } ] }
  - { vip: "2001:db8:1::64", port: 80, forwarding: fullnat, toa: true, proxy_protocol: v2, real_servers: [ { address: 10.99.2.11 } ] }
`);
    assert.deepEqual(spec.services.map((s) => [s.proxyProtocol, s.toa]), [['v1', true], ['v2', false], ['v2', true]]);
    const msg = errorOf(`${head}  fullnat: { local_addresses: ["2001:db8:2::200/124"] }
services:
  - { vip: "2001:db8:1::100", port: 80, forwarding: fullnat, toa: true, real_servers: [ { address: "2001:db8:2::11" } ] }
`);
    assert.match(msg, /director\.fullnat\.local_addresses\[0\]: expected an address or an IPv4 prefix/);
  });

  it('takes the fragment settings and refuses nonsense', () => {
    const spec = parseConfig(`${head}  fragments: { cache: 1024, buffer: 16, timeout: 1, wait: 0.2 }\nservices: []\n`);
    assert.deepEqual(spec.fragments, { cache: 1024, buffer: 16, timeout: 1, wait: 0.2 });
    assert.deepEqual(parseConfig(toYaml(spec)).fragments, spec.fragments);
    assert.match(errorOf(`${head}  fragments: { buffer: 99999 }\nservices: []\n`), /director\.fragments\.buffer: expected an integer 0\.\.4096/);
  });
});
