// Configuration: defaults, ipvsadm timeout names, every error located by file, line, column
// and key, unknown keys refused, semantic checks, and the YAML round trip.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { toYaml } from '../../src/config/to-yaml.js';
import { WlvsError } from '../../src/errors.js';

const BASE = `director:
  devices:
    - { name: wlvs0, kind: tap, addresses: [10.99.2.1/24], bridge: br0 }
services:
  - name: web
    vip: 10.99.100.1
    port: 80
    real_servers:
      - { address: 10.99.2.11 }
      - { address: 10.99.2.12, port: 8080, weight: 3 }
`;

const FNAT = BASE.replace('services:', '  fullnat:\n    local_addresses: [10.99.3.1, 10.99.3.2]\nservices:')
  .replace('port: 80\n', 'port: 80\n    forwarding: fullnat\n');

function errorOf(text: string): WlvsError {
  try {
    parseConfig(text, 'lab.yaml');
  } catch (err) {
    assert.ok(WlvsError.is(err));
    return err;
  }
  assert.fail('expected an error');
}

describe('config', () => {
  it('fills every default an operator expects', () => {
    const s = parseConfig(BASE, 'lab.yaml');
    assert.equal(s.sessions, 1 << 20);
    assert.equal(s.batch, 256);
    assert.equal(s.busyPollUs, 0);
    assert.equal(s.ioEngine, 'epoll');
    assert.equal(s.timeouts.established, 900);
    assert.equal(s.timeouts.udp, 300);
    assert.equal(s.timeouts.close, 10);
    const web = s.services[0];
    assert.equal(web.scheduler, 'wlc');
    assert.equal(web.forwarding, 'nat');
    assert.equal(web.protocol, 'tcp');
    assert.equal(web.onFailure, 'quiesce');
    assert.deepEqual(web.realServers.map((r) => [r.address, r.port, r.weight]), [['10.99.2.11', 80, 1], ['10.99.2.12', 8080, 3]]);
    assert.equal(web.health!.type, 'tcp');
    assert.equal(web.health!.interval, 5);
    assert.equal(s.devices[0].offload, true);
    assert.equal(s.devices[0].mtu, 1500);
    assert.equal(s.devices[0].txqueuelen, 10000, 'deeper than the kernel\'s 500 for a TUN/TAP');
  });

  it('a device\'s txqueuelen: taken, round-tripped, bounded', () => {
    const text = BASE.replace('bridge: br0 }', 'bridge: br0, txqueuelen: 2048 }');
    const a = parseConfig(text, 'a');
    assert.equal(a.devices[0].txqueuelen, 2048);
    assert.deepEqual(parseConfig(toYaml(a), 'b'), a);
    const e = errorOf(BASE.replace('bridge: br0 }', 'bridge: br0, txqueuelen: 4 }'));
    assert.match(e.message, /txqueuelen/);
  });

  it('maps ipvsadm --set names (tcp, tcpfin, udp) and IPVS state names', () => {
    const s = parseConfig(BASE.replace('services:', '  timeouts: { tcp: 100, tcpfin: 20, udp: 30, close: 5 }\nservices:'), 'x');
    assert.deepEqual([s.timeouts.established, s.timeouts.fin_wait, s.timeouts.time_wait, s.timeouts.udp,
      s.timeouts.close], [100, 20, 20, 30, 5]);
  });

  it('names file, line, column and key path of each problem, all at once', () => {
    const bad = BASE.replace('weight: 3', 'weight: heavy').replace('port: 80\n', 'port: 80\n    schedular: rr\n').replace('10.99.2.11', '10.99.2.300');
    const e = errorOf(bad);
    assert.equal(e.code, 'WLVS_ERR_CONFIG_INVALID');
    const issues = (e.details!.issues as { line: number; path: string; message: string }[]);
    const byPath = new Map(issues.map((i) => [i.path, i]));
    assert.match(byPath.get('services[0].real_servers[1].weight')!.message, /expected an integer 0\.\.65535, got "heavy"/);
    assert.equal(byPath.get('services[0].real_servers[1].weight')!.line, 11);
    assert.match(byPath.get('services[0].schedular')!.message, /unknown key/);
    assert.match(byPath.get('services[0].real_servers[0].address')!.message, /IPv4/);
    assert.match(e.message, /lab\.yaml:11:\d+ services\[0\]\.real_servers\[1\]\.weight/);
  });

  it('reports YAML syntax errors with their line', () => {
    const e = errorOf('director:\n  devices: [\n');
    assert.equal(e.code, 'WLVS_ERR_CONFIG_READ');
    assert.match(e.message, /lab\.yaml:\d+:\d+: YAML syntax error/);
  });

  const semantic: [string, string, RegExp][] = [
    ['a duplicate service', BASE + `  - name: web2\n    vip: 10.99.100.1\n    port: 80\n`, /same VIP, port and protocol/],
    ['fullnat without local addresses', BASE.replace('port: 80\n', 'port: 80\n    forwarding: fullnat\n'), /uses fullnat: the director needs at least one local address/],
    ['a LIP pool per service', BASE.replace('port: 80\n', 'port: 80\n    forwarding: fullnat\n    local_addresses: [10.99.2.201]\n'), /one per director: list the addresses under director\.fullnat\.local_addresses/],
    ['a LIP listed twice', FNAT.replace('[10.99.3.1, 10.99.3.2]', '[10.99.3.1, 10.99.3.0/30]'), /local_addresses\[1\]: 10\.99\.3\.1 is already in the pool \(local_addresses\[0\]\)/],
    ['a LIP that is a real server', FNAT.replace('[10.99.3.1, 10.99.3.2]', '[10.99.3.1, 10.99.2.12]'), /10\.99\.2\.12 is also a real server of services\[0\]/],
    ['a LIP that is a VIP', FNAT.replace('[10.99.3.1, 10.99.3.2]', '[10.99.100.1]'), /10\.99\.100\.1 is also the VIP of services\[0\]/],
    ['a LIP that is the director\'s own address', FNAT.replace('[10.99.3.1, 10.99.3.2]', '[10.99.2.1]'), /10\.99\.2\.1 is also director\.devices\[0\] address/],
    ['a LIP prefix larger than /24', FNAT.replace('[10.99.3.1, 10.99.3.2]', '[10.99.0.0/16]'), /stands for 65536 addresses, at most 256/],
    ['a pool no service uses', FNAT.replace('    forwarding: fullnat\n', ''), /used only by fullnat services, and none uses it/],
    ['TOA outside fullnat', BASE.replace('port: 80\n', 'port: 80\n    toa: true\n'), /toa: is for fullnat only/],
    ['the PROXY protocol over dr', BASE.replace('port: 80\n', 'port: 80\n    forwarding: dr\n    proxy_protocol: v2\n'), /proxy_protocol: needs nat or fullnat/],
    ['the PROXY protocol over UDP', BASE.replace('port: 80\n', 'port: 80\n    protocol: udp\n    proxy_protocol: v1\n'), /proxy_protocol: is for TCP services only/],
    ['an unknown PROXY protocol version', BASE.replace('port: 80\n', 'port: 80\n    proxy_protocol: v3\n'), /expected one of v1, v2/],
    ['a quarantine beyond an hour', FNAT.replace('local_addresses:', 'quarantine: 7200\n    local_addresses:'), /quarantine: expected an integer 0\.\.3600/],
    ['DR on a TUN device', BASE.replace('kind: tap', 'kind: tun').replace('port: 80\n', 'port: 80\n    forwarding: dr\n'), /needs tap devices/],
    ['a real server twice', BASE.replace('- { address: 10.99.2.12, port: 8080, weight: 3 }', '- { address: 10.99.2.11 }'), /listed twice/],
    ['mixed device kinds', BASE.replace("bridge: br0 }", "bridge: br0 }\n    - { name: t1, kind: tun }"), /all tap or all tun/],
    ['a timeout not under the interval', BASE.replace('port: 80\n', 'port: 80\n    health_check: { interval: 1, timeout: 2 }\n'), /must be shorter than interval/],
    ['an unknown scheduler', BASE.replace('port: 80\n', 'port: 80\n    scheduler: fastest\n'), /expected one of rr, wrr/],
    ['a bad persistence netmask', BASE.replace('port: 80\n', 'port: 80\n    persistence: 60\n    persistence_netmask: 255.0.255.0\n'), /netmask/],
    ['a bad LIP port range', FNAT.replace('[10.99.3.1, 10.99.3.2]', '[{ address: 10.99.2.201, ports: 9-3 }]'), /port range/],
    ['no devices', 'director: {}\nservices: []\n', /at least one device/],
    ['huge pages in words', BASE.replace('services:', '  huge_pages: maybe\nservices:'), /huge_pages: expected true or false, got "maybe"/],
    ['busy polling beyond a millisecond', BASE.replace('services:', '  busy_poll_us: 5000\nservices:'), /busy_poll_us: expected an integer 0\.\.1000/],
    ['an unknown queue steering', BASE.replace('services:', '  queue_steering: random\nservices:'), /queue_steering: expected one of flow-hash, kernel/],
    ['an unknown I/O engine', BASE.replace('services:', '  io_engine: aio\nservices:'), /io_engine: expected one of epoll, io_uring, auto/],
    ['no workers', BASE.replace('services:', '  workers: 0\nservices:'), /workers: expected an integer 1\.\.16/],
    ['more workers than queues a device takes', BASE.replace('services:', '  workers: 17\nservices:'), /workers: expected an integer 1\.\.16/],
    ['a worker count in words', BASE.replace('services:', '  workers: all\nservices:'), /workers: expected auto or an integer 1\.\.16, got "all"/],
  ];
  for (const [what, text, re] of semantic) {
    it(`refuses ${what}`, () => assert.match(errorOf(text).message, re));
  }

  it('reads the director\'s one LIP pool: addresses, ranges, prefixes, quarantine', () => {
    const s = parseConfig(FNAT.replace('[10.99.3.1, 10.99.3.2]', '[10.99.3.1, { address: 10.99.3.2, ports: 2000-2999 }, 10.99.3.8/30]')
      .replace('local_addresses:', 'quarantine: 120\n    local_addresses:'), 'lab.yaml');
    assert.deepEqual(s.fullnat.localAddresses, [
      { address: '10.99.3.1', portMin: 1024, portMax: 65535 }, { address: '10.99.3.2', portMin: 2000, portMax: 2999 },
      ...[8, 9, 10, 11].map((k) => ({ address: `10.99.3.${k}`, portMin: 1024, portMax: 65535 })),
    ]);
    assert.equal(s.fullnat.quarantine, 120);
    const pp = parseConfig(FNAT.replace('    forwarding: fullnat\n', '    forwarding: fullnat\n    proxy_protocol: v1\n    toa: true\n'), 'pp');
    assert.equal(pp.services[0].proxyProtocol, 'v1');
    assert.equal(pp.services[0].toa, true);
    assert.deepEqual(parseConfig(toYaml(pp), 'again'), pp);
    assert.equal(parseConfig(BASE, 'lab.yaml').services[0].proxyProtocol, null);
    assert.equal(parseConfig(BASE, 'lab.yaml').fullnat.quarantine, 60);
    assert.deepEqual(parseConfig(toYaml(s), 'again'), s);
  });

  it('leaves director.workers to the director when absent or auto, and keeps a count through YAML', () => {
    assert.equal(parseConfig(BASE, 'lab.yaml').workers, undefined);
    assert.equal(parseConfig(BASE.replace('services:', '  workers: auto\nservices:'), 'a').workers, undefined);
    const three = parseConfig(BASE.replace('services:', '  workers: 3\nservices:'), '3');
    assert.equal(three.workers, 3);
    assert.deepEqual(parseConfig(toYaml(three), 'again'), three);
    assert.equal(parseConfig(toYaml(parseConfig(BASE, 'lab.yaml')), 'again').workers, undefined);
  });

  it('round-trips through YAML', () => {
    const text = BASE.replace('services:', '  busy_poll_us: 50\nservices:').replace('port: 80\n', 'port: 80\n    scheduler: mh\n    sched_flags: [mh-port]\n    persistence: 60\n    persistence_netmask: 255.255.255.0\n' +
      '    health_check: { type: http, path: /health, expect_status: [200, 204], interval: 2, timeout: 1 }\n');
    const a = parseConfig(text, 'a');
    const b = parseConfig(toYaml(a), 'b');
    assert.deepEqual(b, a);
    assert.equal(a.queueSteering, 'flow-hash');
    assert.equal(a.hugePages, true);
    const small = parseConfig(BASE.replace('services:', '  huge_pages: false\nservices:'), 'small');
    assert.equal(small.hugePages, false);
    assert.deepEqual(parseConfig(toYaml(small), 'small2'), small);
    const k = parseConfig(BASE.replace('services:', '  queue_steering: kernel\nservices:'), 'k');
    assert.equal(k.queueSteering, 'kernel');
    assert.deepEqual(parseConfig(toYaml(k), 'k2'), k);
    for (const engine of ['io_uring', 'auto']) {
      const u = parseConfig(BASE.replace('services:', `  io_engine: ${engine}\nservices:`), 'u');
      assert.equal(u.ioEngine, engine);
      assert.deepEqual(parseConfig(toYaml(u), 'u2'), u);
    }
    assert.equal(a.services[0].persistencePrefix, 24);
    assert.deepEqual(a.services[0].health!.expectStatus, [200, 204]);
  });

  it('resolves YAML anchors and aliases', () => {
    const text = BASE + `  - name: api\n    vip: 10.99.100.2\n    port: 80\n    health_check: &hc { type: http, path: /ok }\n    real_servers:\n      - { address: 10.99.2.13, health_check: *hc }\n`;
    const s = parseConfig(text, 'x');
    assert.equal(s.services[1].realServers[0].health!.path, '/ok');
  });
});

describe('config: director.ha', () => {
  const withHa = (ha: string) => BASE.replace('services:', `  ha:\n${ha.split('\n').map((l) => `    ${l}`).join('\n')}\nservices:`);

  it('defaults: VRRP version 3 on the first device, multicast, pseudo-header checksum, no sync link', () => {
    const h = parseConfig(withHa('priority: 150'), 'x').ha!;
    assert.deepEqual(h.vrrp, {
      version: 3, device: 'wlvs0', checksum: 'pseudo-header', unicastPeers: [], virtualMac: false, auth: 'none', password: null,
    });
    assert.deepEqual([h.group, h.priority, h.initialState, h.preempt, h.preemptDelayMs, h.advertIntervalMs], [1, 150, 'backup', true, 0, 1000]);
    assert.deepEqual([h.listen, h.peer, h.syncSessions, h.authKeyFile], [null, null, false, null]);
  });

  it('a wlvs pair: sync link, key, HMAC adverts by default; a keepalived pair: v2 with a password, unicast', () => {
    const w = parseConfig(withHa('auth_key_file: /etc/wlvs/ha.key\nlisten: 10.99.3.2:8848\npeer: 10.99.3.3:8848\nadvert_interval: 0.3'), 'x').ha!;
    assert.deepEqual([w.vrrp.auth, w.syncSessions, w.listen, w.advertIntervalMs], ['hmac', true, { host: '10.99.3.2', port: 8848 }, 300]);
    const k = parseConfig(withHa('group: 51\npriority: 255\nadvert_interval: 2\npreempt_delay: 5\n' +
      'vrrp: { version: 2, authentication: pass, password: s3cret, unicast_peers: [10.99.2.4], virtual_mac: true }'), 'x').ha!;
    const got = [k.vrrp.version, k.vrrp.auth, k.vrrp.password, k.vrrp.unicastPeers, k.vrrp.virtualMac, k.priority,
      k.preemptDelayMs];
    assert.deepEqual(got,
      [2, 'pass', 's3cret', ['10.99.2.4'], true, 255, 5000]);
    assert.deepEqual(parseConfig(toYaml(parseConfig(withHa('auth_key_file: /k\nlisten: 10.99.3.2:8848\npeer: 10.99.3.3:8848\n' +
      'vrrp: { checksum: no-pseudo-header, unicast_peers: [10.99.2.4] }'), 'x')), 'y').ha!.vrrp.checksum, 'no-pseudo-header', 'round trip');
  });

  const refused: [string, string, RegExp][] = [
    ['a sync link without a key (a configuration from before authentication)', 'listen: 10.99.3.2:8848\npeer: 10.99.3.3:8848',
      /auth_key_file: is required with a sync link .*HMAC-SHA-256/],
    ['listen without peer', 'listen: 10.99.3.2:8848', /needs both listen and peer/],
    ['sync_sessions without a link', 'sync_sessions: true', /session sync needs listen and peer/],
    ['hmac without a key', 'vrrp: { authentication: hmac }', /hmac needs director.ha.auth_key_file/],
    ['a password with version 3', 'vrrp: { authentication: pass, password: x }', /pass is VRRP version 2 authentication/],
    ['a password longer than keepalived\'s 8 bytes', 'vrrp: { version: 2, authentication: pass, password: 123456789 }', /1 to 8 bytes/],
    ['a v3 interval finer than centiseconds', 'advert_interval: 0.305', /multiple of 0.01 s/],
    ['a v2 interval in fractions of a second', 'advert_interval: 1.5\nvrrp: { version: 2 }', /whole seconds/],
    ['a v2 checksum choice', 'vrrp: { version: 2, checksum: no-pseudo-header }', /only for version 3/],
    ['the address owner without preemption', 'priority: 255\npreempt: false', /always preempts/],
    ['an unknown VRRP device', 'vrrp: { device: eth9 }', /no device named "eth9"/],
    ['a priority above 255', 'priority: 256', /expected an integer 1\.\.255/],
  ];
  for (const [what, ha, re] of refused) {
    it(`refuses ${what}`, () => assert.match(errorOf(withHa(ha)).message, re));
  }

  it('refuses a VRRP device without an address (the advertisements\' source)', () => {
    const text = BASE.replace('bridge: br0 }', 'bridge: br0 }\n    - { name: bare, kind: tap }').replace('services:', '  ha: { vrrp: { device: bare } }\nservices:');
    assert.match(errorOf(text).message, /device bare needs an address/);
  });
});
