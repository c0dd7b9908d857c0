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
  const spec = parseConfig(r.yaml.replace('addresses: []', 'addresses: [10.0.0.2/24]'), 'imported');

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

  /** what the operator does with the translation: gives the placeholder device its address */
  const filled = (yaml: string, address = '10.1.0.3/24') => parseConfig(yaml.replace('addresses: []', `addresses: [${address}]`), 'imported');

  it('turns a unicast vrrp_instance into director.ha: VRID, priority, interval, preemption, peers, addresses', () => {
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
    const ha = filled(t.yaml).ha!;
    assert.deepEqual([ha.group, ha.priority, ha.initialState, ha.preempt, ha.advertIntervalMs], [51, 90, 'backup', false, 2000]);
    // keepalived's default is version 2, without authentication
    assert.deepEqual([ha.vrrp.version, ha.vrrp.unicastPeers, ha.vrrp.auth, ha.vrrp.device], [2, ['10.1.0.2'], 'none', 'wlvs0']);
    assert.deepEqual([ha.listen, ha.peer, ha.syncSessions], [null, null, false]);
    // the VIP moves with the role anyway; the gateway becomes a virtual address
    assert.deepEqual(ha.virtualAddresses.map((v) => v.address), ['192.168.1.1/24']);
    const notes = t.untranslated.join('\n');
    assert.match(notes, /notify_master .*no wlvs equivalent/);
    assert.match(notes, /unicast_src_ip 10\.1\.0\.3 .*give wlvs0 the address 10\.1\.0\.3/);
    assert.match(notes, /no session sync with keepalived/);
  });

  it('translates a multicast instance with version 3, the checksum variant, a fractional interval and a virtual MAC', () => {
    const conf = `global_defs {
    vrrp_version 3
    v3_checksum_as_v2
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 7
    priority 255
    advert_int 0.25
    preempt_delay 30
    use_vmac
    virtual_ipaddress {
        10.0.0.9/24
    }
}
`;
    const t = keepalived(conf);
    const ha = filled(t.yaml).ha!;
    assert.deepEqual([ha.vrrp.version, ha.vrrp.checksum, ha.vrrp.unicastPeers, ha.vrrp.virtualMac], [3, 'no-pseudo-header', [], true]);
    assert.deepEqual([ha.group, ha.priority, ha.initialState, ha.preempt, ha.preemptDelayMs, ha.advertIntervalMs], [7, 255, 'master', true, 30000, 250]);
    assert.deepEqual(ha.virtualAddresses.map((v) => v.address), ['10.0.0.9/24']);
  });

  it('maps version 2 authentication: PASS with its password (8 bytes at most); AH is refused with a note', () => {
    const inst = (auth: string, extra = '') => `vrrp_instance V {
    interface eth0
    virtual_router_id 5
    advert_int 1.4
    ${extra}
    authentication {
${auth}
    }
    virtual_ipaddress {
        10.0.0.1
    }
}
`;
    const pass = keepalived(inst('        auth_type PASS\n        auth_pass 0123456789'));
    const h = filled(pass.yaml).ha!;
    assert.deepEqual([h.vrrp.version, h.vrrp.auth, h.vrrp.password, h.advertIntervalMs], [2, 'pass', '01234567', 1000]);
    assert.match(pass.untranslated.join('\n'), /cut to its first 8 bytes/);
    assert.match(pass.untranslated.join('\n'), /advert_int becomes 1 s/);
    const ah = keepalived(inst('        auth_type AH\n        auth_pass secret'));
    assert.equal(filled(ah.yaml).ha!.vrrp.auth, 'none');
    assert.match(ah.untranslated.join('\n'), /auth_type AH is not supported/);
    const v3 = keepalived(inst('        auth_type PASS\n        auth_pass secret', 'version 3'));
    assert.equal(filled(v3.yaml).ha!.vrrp.auth, 'none');
    assert.match(v3.untranslated.join('\n'), /version 3 has no authentication/);
  });

  it('translates the sample\'s multicast instance; lists global_defs, fwmark and digests as untranslated', () => {
    const text = r.untranslated.join('\n');
    assert.match(text, /line 3: router_id LVS_DEVEL \(global_defs: no wlvs equivalent\)/);
    assert.match(text, /line 8: interface eth0 \(VRRP runs on wlvs device wlvs0/);
    assert.match(text, /digest/);
    assert.match(text, /fwmark/);
    const ha = filled(r.yaml, '10.0.0.2/24').ha!;
    assert.deepEqual([ha.group, ha.priority, ha.initialState, ha.vrrp.version, ha.vrrp.unicastPeers], [51, 100, 'master', 2, []]);
  });
});

describe('import keepalived.conf: lvs_timeouts, lvs_sync_daemon, virtual_server_group', () => {
  const r = keepalived(fixture('keepalived-lvs.conf'));

  it('produces the expected YAML for the sample', () => {
    assert.equal(r.yaml, fixture('keepalived-lvs.yaml'));
  });

  it('keeps the timeouts, the sync link and one service per group member', () => {
    const spec = parseConfig(r.yaml.replace('addresses: []', 'addresses: [10.1.0.2/24]'), 'imported');
    const t = spec.timeouts;
    assert.deepEqual([t.established, t.fin_wait, t.time_wait, t.udp], [7200, 60, 60, 120]);
    const ha = spec.ha!;
    assert.deepEqual([ha.listen, ha.peer, ha.syncSessions, ha.authKeyFile], [
      { host: '10.1.0.2', port: 8849 }, { host: '10.1.0.3', port: 8849 }, true, '/etc/wlvs/ha.key']);
    assert.deepEqual(spec.services.map((s) => `${s.protocol}:${s.vip}:${s.port}/${s.scheduler}/${s.realServers.length}`), [
      'tcp:10.0.0.10:80/rr/2', 'tcp:10.0.0.11:8080/rr/2', 'tcp:10.0.0.12:8080/rr/2', 'udp:10.0.0.10:53/sh/1']);
  });

  it('says exactly what is left out, once each', () => {
    assert.deepEqual(r.untranslated, [
      'line 12: interface eth1 (VRRP runs on wlvs device wlvs0: name the device on the segment of eth1)',
      'line 16: unicast_src_ip 10.1.0.2 (wlvs sends VRRP from the first address of its device: give wlvs0 the address 10.1.0.2)',
      'line 6: lvs_sync_daemon eth1 VI_1 id 7 port 8849 (the sync link is authenticated: create /etc/wlvs/ha.key (head -c 32 /dev/urandom; chmod 600), the same file on both directors)',
      'line 6: lvs_sync_daemon eth1 VI_1 id 7 port 8849 (id 7 is left out: a sync id tells multicast sync groups apart; the wlvs link joins two peers only)',
      'line 4: router_id LB_A (global_defs: no wlvs equivalent)',
      'line 30: fwmark 3 (fwmark members have no wlvs equivalent; use a port-0 service on the VIP)',
      'director.devices: fill in the devices wlvs should run on (a tap device is assumed)',
    ]);
  });

  it('takes lvs_timeouts at the top level too; 0 leaves a timeout unchanged as ipvsadm --set does', () => {
    const t = keepalived('lvs_timeouts tcp 0 tcpfin 30 udp 60\nvirtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n }\n}\n');
    assert.deepEqual((t.config.director as { timeouts: unknown }).timeouts, { tcpfin: 30, udp: 60 });
    assert.ok(!t.untranslated.some((u) => /lvs_timeouts|not a virtual_server/.test(u)), t.untranslated.join('\n'));
  });

  it('a multicast pair gets placeholder addresses to replace; the old lvs_sync_daemon_interface works too; no instance: noted', () => {
    const conf = (sync: string, inVrrp = '') => `global_defs {\n ${sync}\n}\nvrrp_instance VI_9 {\n interface eth0\n virtual_router_id 9\n ${inVrrp}\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n`;
    const m = keepalived(conf('lvs_sync_daemon eth0 VI_9'));
    const ha = (m.config.director as { ha: Record<string, unknown> }).ha;
    assert.deepEqual([ha.listen, ha.peer, ha.sync_sessions], ['192.0.2.1:8848', '192.0.2.2:8848', true]);
    assert.match(m.untranslated.join('\n'), /replace listen 192\.0\.2\.1 by this director's address and peer 192\.0\.2\.2/);
    assert.ok(!m.untranslated.some((u) => /no session sync with keepalived/.test(u)));
    const old = keepalived(conf('router_id X', 'lvs_sync_daemon_interface eth0'));
    assert.equal((old.config.director as { ha: Record<string, unknown> }).ha.sync_sessions, true);
    const other = keepalived(conf('lvs_sync_daemon eth0 VI_OTHER'));
    assert.match(other.untranslated.join('\n'), /names vrrp_instance VI_OTHER, not the translated VI_9/);
    const none = keepalived('global_defs {\n lvs_sync_daemon eth0 VI_1\n}\n');
    assert.match(none.untranslated.join('\n'), /a sync link needs director\.ha: no vrrp_instance/);
  });
});
