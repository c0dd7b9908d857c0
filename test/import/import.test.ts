// Importers: sample ipvsadm and keepalived files translate to configurations that validate,
// with the expected values, and everything untranslatable is listed with its line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load.js';
import { translate as ipvsadm } from '../../src/import/ipvsadm.js';
import { translate as keepalived } from '../../src/import/keepalived.js';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/import/${name}`, import.meta.url), 'utf8');

describe('import ipvsadm -S -n', () => {
  const r = ipvsadm(fixture('ipvsadm.save'));
  const spec = parseConfig(r.yaml, 'imported');

  it('translates services, schedulers, persistence and flags', () => {
    const web = spec.services.find((s) => s.vip === '10.0.0.1' && s.port === 80)!;
    assert.equal(web.scheduler, 'wlc');
    assert.equal(web.persistence, 300);
    assert.equal(web.persistencePrefix, 24);
    const tls = spec.services.find((s) => s.port === 443)!;
    assert.equal(tls.scheduler, 'sh');
    assert.equal(tls.hashPort, true);
    assert.equal(tls.fallback, true);
    assert.equal(spec.services.find((s) => s.protocol === 'udp')!.forwarding, 'tun');
  });

  it('keeps per-server forwarding, weights and thresholds (-g/-m, -w, -x)', () => {
    const web = spec.services.find((s) => s.vip === '10.0.0.1' && s.port === 80)!;
    assert.equal(web.forwarding, 'dr');
    assert.deepEqual(web.realServers.map((x) => [x.address, x.port, x.weight, x.forwarding, x.upperThreshold]), [
      ['192.168.1.11', 80, 1, null, 0], ['192.168.1.12', 80, 2, null, 0], ['192.168.1.13', 8080, 1, 'nat', 500],
    ]);
  });

  it('translates IPv6 services and servers written in brackets, and their prefix persistence', () => {
    const v6 = spec.services.find((s) => s.vip === '2001:db8::10')!;
    assert.equal(v6.port, 443);
    assert.equal(v6.scheduler, 'mh');
    assert.equal(v6.persistence, 600);
    assert.equal(v6.persistencePrefix, 64);
    assert.deepEqual(v6.realServers.map((x) => [x.address, x.port, x.weight]), [['2001:db8:2::11', 8443, 3], ['2001:db8:2::12', 8443, 1]]);
    assert.equal(v6.forwarding, 'nat');
  });

  it('lists what it could not translate, with line numbers', () => {
    const text = r.untranslated.join('\n');
    assert.match(text, /line 4: .*lower threshold/);
    assert.match(text, /line 9: -A -f 100/);
    assert.match(text, /line 11: .*lblc unsupported/);
    assert.match(text, /director\.devices/);
  });
});

describe('import keepalived.conf', () => {
  const r = keepalived(fixture('keepalived.conf'));
  const spec = parseConfig(r.yaml, 'imported');

  it('translates an IPv6 virtual_server with its prefix persistence', () => {
    const v6 = spec.services.find((s) => s.vip === '2001:db8::20')!;
    assert.equal(v6.forwarding, 'dr');
    assert.equal(v6.persistencePrefix, 64);
    assert.deepEqual(v6.realServers.map((x) => [x.address, x.port, x.weight]), [['2001:db8:2::21', 80, 2]]);
  });

  it('translates virtual servers: algorithm, kind, persistence, sorry server', () => {
    const web = spec.services.find((s) => s.port === 80)!;
    assert.equal(web.scheduler, 'wrr');
    assert.equal(web.forwarding, 'dr');
    assert.equal(web.persistence, 50);
    assert.equal(web.persistencePrefix, 24);
    assert.deepEqual(web.sorry, { address: '192.168.1.100', port: 80 });
    assert.equal(web.onFailure, 'quiesce', 'inhibit_on_failure');
    const tls = spec.services.find((s) => s.port === 443)!;
    assert.equal(tls.scheduler, 'lc');
    assert.equal(tls.forwarding, 'nat');
    assert.equal(tls.onFailure, 'remove', 'keepalived removes failed servers by default');
  });

  it('translates HTTP_GET, TCP_CHECK, SSL_GET and MISC_CHECK', () => {
    const [a, b] = spec.services.find((s) => s.port === 80)!.realServers;
    assert.equal(a.weight, 3);
    assert.deepEqual([a.health!.type, a.health!.path, a.health!.expectStatus, a.health!.fall, a.health!.interval], ['http', '/health', [200], 3, 6]);
    assert.deepEqual([b.health!.type, b.health!.port, b.health!.timeout, b.health!.fall], ['tcp', 8080, 2, 2]);
    const [c, d] = spec.services.find((s) => s.port === 443)!.realServers;
    assert.deepEqual([c.health!.type, c.health!.tls], ['http', true]);
    assert.deepEqual([d.health!.type, d.health!.command, d.health!.timeout], ['exec', '/usr/local/bin/check.sh 192.168.1.22', 4]);
  });

  it('turns a unicast vrrp_instance into director.ha', () => {
    const conf = `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 90
    advert_int 2
    nopreempt
    unicast_src_ip 10.1.0.3
    unicast_peer {
        10.1.0.2
    }
    virtual_ipaddress {
        10.0.0.1
        192.168.1.1/24 dev eth1
    }
    notify_master /etc/keepalived/master.sh
}
virtual_server 10.0.0.1 80 {
    lb_kind NAT
    real_server 192.168.1.11 80 {
    }
}
`;
    const t = keepalived(conf);
    const ha = parseConfig(t.yaml, 'imported').ha!;
    assert.deepEqual([ha.group, ha.priority, ha.initialState, ha.preempt, ha.advertIntervalMs], [51, 90, 'backup', false, 2000]);
    assert.deepEqual([ha.listen, ha.peer], [{ host: '10.1.0.3', port: 8848 }, { host: '10.1.0.2', port: 8848 }]);
    // the VIP moves with the role anyway; the gateway becomes a virtual address
    assert.deepEqual(ha.virtualAddresses.map((v) => v.address), ['192.168.1.1/24']);
    assert.match(t.untranslated.join('\n'), /notify_master .*no wlvs equivalent/);
  });

  it('lists VRRP, global_defs, fwmark and digests as untranslated', () => {
    const text = r.untranslated.join('\n');
    assert.match(text, /line 2: global_defs/);
    assert.match(text, /line 6: vrrp_instance VI_1 \(multicast VRRP: add director.ha/);
    assert.match(text, /digest/);
    assert.match(text, /fwmark/);
  });
});
