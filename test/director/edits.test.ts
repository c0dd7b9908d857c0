// Runtime edits (ipvsadm -A/-E/-D/-a/-e/-d): each builds the whole new configuration and sends
// it through the file's validation, so a bad edit is refused with the same messages and the
// rest of the configuration comes back unchanged. Then the same edits through the control plane
// of a running director on fake devices, with traffic.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { controlPlane } from '../../src/director/control.js';
import {
  addRealServer, addService, deleteRealServer, deleteService, drainRealServer, editRealServer, editService,
} from '../../src/director/edits.js';
import { WlvsError, type ErrorCode } from '../../src/errors.js';
import { decodeFrame } from '../oracle/packet.js';
import { RIPS, TAP_DIRECTOR, VIP, fromClient, startDirector, supervise, until, webService } from './fixture.js';

const YAML = `${TAP_DIRECTOR}services:${webService({ weights: [2, 1] })}  - name: dns
    vip: ${VIP}
    port: 53
    protocol: udp
    scheduler: sh
    forwarding: nat
    health_check: { type: none }
    real_servers:
      - { address: ${RIPS[2]}, port: 53 }
`;
const base = () => parseConfig(YAML, 'test.yaml');
const refused = (code: ErrorCode, re?: RegExp) => (e: unknown) =>
  WlvsError.is(e) && e.code === code && (!re || re.test(e.message));

describe('runtime edits', () => {
  it('add, edit and delete a service; the other service is untouched', () => {
    const s0 = base();
    const added = addService(s0, { name: 'ssh', vip: VIP, port: 22, scheduler: 'wlc', real_servers: [{ address: RIPS[3] }] });
    assert.deepEqual(added.services.map((s) => s.name), ['web', 'dns', 'ssh']);
    assert.equal(added.services[2].realServers[0].port, 22, 'a real server without a port takes the service\'s');
    assert.deepEqual(added.services[1], s0.services[1]);
    assert.deepEqual(added.devices, s0.devices);
    const edited = editService(added, 'ssh', { scheduler: 'sh', persistence: 60 });
    assert.equal(edited.services[2].scheduler, 'sh');
    assert.equal(edited.services[2].persistence, 60);
    assert.deepEqual(edited.services[0], s0.services[0]);
    const deleted = deleteService(edited, 'web');
    assert.deepEqual(deleted.services.map((s) => s.name), ['dns', 'ssh']);
  });

  it('refuses a clash, an unknown name and an invalid value with a registered code and the file\'s message', () => {
    const s0 = base();
    assert.throws(() => addService(s0, { name: 'web', vip: VIP, port: 81 }), refused('WLVS_ERR_CONFLICT'));
    assert.throws(() => addService(s0, { name: 'web2', vip: VIP, port: 80 }), refused('WLVS_ERR_CONFIG_INVALID', /same VIP, port and protocol/));
    assert.throws(() => editService(s0, 'nope', { port: 1 }), refused('WLVS_ERR_NOT_FOUND', /no service named "nope"/));
    assert.throws(() => editService(s0, 'web', { scheduler: 'fastest' }), refused('WLVS_ERR_CONFIG_INVALID', /services\[0\]\.scheduler/));
    assert.throws(() => deleteService(s0, 'nope'), refused('WLVS_ERR_NOT_FOUND'));
    assert.throws(() => addRealServer(s0, 'web', { address: '10.0.2.300' }), refused('WLVS_ERR_CONFIG_INVALID', /IPv4/));
    assert.throws(() => addRealServer(s0, 'web', { address: RIPS[0], port: 8080 }), refused('WLVS_ERR_CONFIG_INVALID', /listed twice/));
    assert.throws(() => editRealServer(s0, 'web', '10.9.9.9:1', { weight: 1 }), refused('WLVS_ERR_NOT_FOUND', /has no real server/));
    assert.throws(() => deleteRealServer(s0, 'nope', RIPS[0]), refused('WLVS_ERR_NOT_FOUND'));
  });

  it('edits, drains and deletes a real server by ADDRESS:PORT or ADDRESS', () => {
    const s0 = base();
    assert.equal(editRealServer(s0, 'web', `${RIPS[1]}:8080`, { weight: 5 }).services[0].realServers[1].weight, 5);
    assert.equal(editRealServer(s0, 'web', RIPS[1], { upper_threshold: 10 }).services[0].realServers[1].upperThreshold, 10);
    const drained = drainRealServer(s0, 'web', RIPS[0]);
    assert.deepEqual(drained.services[0].realServers.map((r) => r.weight), [0, 1]);
    const gone = deleteRealServer(s0, 'web', `${RIPS[0]}:8080`);
    assert.deepEqual(gone.services[0].realServers.map((r) => r.address), [RIPS[1]]);
    assert.deepEqual(gone.services[1], s0.services[1]);
  });

  it('through the control plane of a running director: new servers get traffic, drained ones none', async () => {
    const f = await startDirector(YAML);
    const sup = supervise(f);
    const cp = controlPlane(sup);
    const dst = (sport: number) => decodeFrame(f.send(0, [fromClient({ sport, dport: 80, flags: 'S' })])[0].frame, true).ip!.dst;
    try {
      const r = await cp.edit({ op: 'add-real-server', service: 'web', realServer: { address: RIPS[3], port: 8080 } }, 'test');
      assert.deepEqual(r.realServersAdded, [`web/${RIPS[3]}:8080`]);
      // it gets traffic once its MAC is known
      await until(() => cp.services()[0].realServers[2].resolved, 'ARP');
      const seen = new Set<string>();
      for (let p = 0; p < 6; p++) seen.add(dst(8000 + p));
      assert.ok(seen.has(RIPS[3]), [...seen].join(','));
      await cp.edit({ op: 'drain-real-server', service: 'web', key: RIPS[3] }, 'test');
      await cp.edit({ op: 'edit-real-server', service: 'web', key: `${RIPS[0]}:8080`, patch: { weight: 0 } }, 'test');
      for (let p = 0; p < 4; p++) assert.equal(dst(8100 + p), RIPS[1]);
      assert.equal(cp.runtimeEdits(), 3);
      await assert.rejects(cp.edit({ op: 'delete-service', name: 'nope' }, 'test'), refused('WLVS_ERR_NOT_FOUND'));
      await cp.edit({ op: 'delete-service', name: 'dns' }, 'test');
      assert.deepEqual(cp.services().map((s) => s.spec.name), ['web']);
      assert.match(cp.configYaml(), /name: web/);
      assert.doesNotMatch(cp.configYaml(), /name: dns/);
    } finally {
      sup.stop();
      await f.stop();
    }
  });
});
