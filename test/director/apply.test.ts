// The table applier between reloads, over the real core and its memory but no devices and no
// timers (so nothing sweeps or reaps unless the test says so): indices kept across reloads, a
// removed server's slot reused only once no session refers to it, the sorry server, Full-NAT
// local addresses kept in place, health verdicts applied.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { parseConfig } from '../../src/config/load.js';
import { TableApplier } from '../../src/director/apply.js';
import type { DirectorSpec } from '../../src/model/spec.js';
import { CoreHarness } from '../core/harness.js';
import { decodeFrame } from '../oracle/packet.js';
import { CIP, LIPS, RIPS, RS_MACS, VIP, fromClient, fromServer } from './fixture.js';

const S = 1000;

interface Rs { i: number; weight?: number }
function spec(o: { rs: Rs[]; sorry?: number; forwarding?: string; lips?: string[]; onFailure?: string }): DirectorSpec {
  const rs = o.rs.map((r) => `      - { address: ${RIPS[r.i]}, port: 8080, weight: ${r.weight ?? 1} }`).join('\n');
  return parseConfig(`
director:
  devices:
    - { name: ext0, kind: tap, addresses: [10.0.1.1/24] }
    - { name: int0, kind: tap, addresses: [10.0.2.1/24] }
  ${o.lips ? `fullnat: { local_addresses: [${o.lips.join(', ')}] }` : ''}
services:
  - name: web
    vip: ${VIP}
    port: 80
    scheduler: rr
    forwarding: ${o.forwarding ?? 'nat'}
    health_check: { type: none }
    on_failure: ${o.onFailure ?? 'quiesce'}
    ${o.sorry !== undefined ? `sorry_server: { address: ${RIPS[o.sorry]}, port: 8080 }` : ''}
    real_servers:
${rs}
`, 'apply-test.yaml');
}

/** a core with its tables, and an applier whose next hops are all resolved on device 1 */
function setUp(): { h: CoreHarness; a: TableApplier } {
  // devices as in the fixture (ext0 = 0, int0 = 1); the applier writes everything else
  // laid out as the director lays out for these specs: TCP over NAT/Full-NAT defaults to
  // syn_proxy auto, which needs the per-session extension records
  const h = new CoreHarness('release', { connExt: true }).standard();
  const a = new TableApplier(h.tables, {
    route: (address) => ({ device: 1, neighbour: address, mac: RS_MACS[RIPS.indexOf(address)] }),
  });
  return { h, a };
}

const indexOf = (a: TableApplier, i: number): number | null | undefined =>
  a.view()[0].realServers.find((r) => r.address === RIPS[i] && !r.sorry)?.index;

/** the real server a client port's SYN went to, by its address in the rewritten frame (null: dropped) */
function synTo(h: CoreHarness, sport: number, now = S): string | null {
  const r = h.one(fromClient({ sport, dport: 80, flags: 'S' }), now);
  return r.verdict === abi.VERDICT_FORWARD ? decodeFrame(r.out, true).ip!.dst : null;
}

describe('table applier', () => {
  it('keeps every index across reloads; a changed weight does not move the server', () => {
    const { h, a } = setUp();
    a.apply(spec({ rs: [{ i: 0 }, { i: 1 }] }));
    const [i0, i1] = [indexOf(a, 0), indexOf(a, 1)];
    const svc = a.serviceIndex('web');
    assert.notEqual(i0, i1);
    const first = synTo(h, 5000);
    assert.ok(first && RIPS.includes(first));
    const report = a.apply(spec({ rs: [{ i: 0 }, { i: 1, weight: 3 }, { i: 2 }] }));
    assert.deepEqual(report.realServersChanged, [`web/${RIPS[1]}:8080`]);
    assert.deepEqual(report.realServersAdded, [`web/${RIPS[2]}:8080`]);
    assert.deepEqual([indexOf(a, 0), indexOf(a, 1), a.serviceIndex('web')], [i0, i1, svc]);
    assert.ok(![i0, i1].includes(indexOf(a, 2)!));
    assert.equal(h.tables.weight(i1!), 3);
    // the open connection keeps its server
    const ack = h.one(fromClient({ sport: 5000, dport: 80, flags: 'A' }), 2 * S);
    assert.equal(ack.verdict, abi.VERDICT_FORWARD);
    assert.equal(decodeFrame(ack.out, true).ip!.dst, first);
  });

  it('reuses a removed server\'s slot only once no session refers to it', () => {
    const { h, a } = setUp();
    a.apply(spec({ rs: [{ i: 0 }] }));
    const old = indexOf(a, 0)!;
    assert.equal(synTo(h, 5001), RIPS[0]);
    const report = a.apply(spec({ rs: [{ i: 1 }] }));
    assert.deepEqual(report.realServersRemoved, [`web/${RIPS[0]}:8080`]);
    assert.notEqual(indexOf(a, 1), old, 'a server added while the old one has a session gets another slot');
    assert.equal(a.reap(), 0, 'not idle: a session still refers to it');
    assert.equal(a.drainingCount, 1);
    a.apply(spec({ rs: [{ i: 1 }, { i: 2 }] }));
    assert.notEqual(indexOf(a, 2), old, 'still not idle');
    assert.equal(a.reap(), 0);
    // its session carries no more traffic (the lookup that meets it expires it), counted as a drop
    const dropped = h.tables.stat(abi.STAT_DROPPED);
    assert.equal(h.one(fromClient({ sport: 5001, dport: 80, flags: 'A' }), 2 * S).verdict, abi.VERDICT_DROP);
    assert.equal(h.tables.stat(abi.STAT_DROPPED), dropped + 1n);
    h.core.sweep(0, 1 << 20, 3 * S);
    assert.ok(h.tables.rsIdle(old));
    assert.equal(a.reap(), 1);
    assert.equal(a.drainingCount, 0);
    a.apply(spec({ rs: [{ i: 1 }, { i: 2 }, { i: 3 }] }));
    assert.equal(indexOf(a, 3), old, 'the idle slot is taken again');
    assert.equal(synTo(h, 5002, 4 * S) !== null, true);
  });

  it('sends new connections to the sorry server while no real server can take them, and back once one can', () => {
    const { h, a } = setUp();
    a.apply(spec({ rs: [{ i: 0, weight: 0 }], sorry: 4 }));
    const sorry = a.view()[0].realServers.find((r) => r.sorry)!;
    assert.equal(sorry.address, RIPS[4]);
    assert.equal(synTo(h, 5003), RIPS[4]);
    a.apply(spec({ rs: [{ i: 0, weight: 1 }], sorry: 4 }));
    assert.equal(a.view()[0].realServers.find((r) => r.sorry)!.index, sorry.index, 'the sorry server keeps its slot');
    assert.equal(synTo(h, 5004, 2 * S), RIPS[0]);
    // the connection that went to the sorry server stays there
    const ack = h.one(fromClient({ sport: 5003, dport: 80, flags: 'A' }), 2 * S);
    assert.equal(decodeFrame(ack.out, true).ip!.dst, RIPS[4]);
    a.apply(spec({ rs: [{ i: 0, weight: 1 }] }));
    assert.equal(a.view()[0].realServers.some((r) => r.sorry), false);
    assert.equal(a.drainingCount, 1, 'the sorry server drains like any removed server');
  });

  it('keeps a local address at its position when others come and go, so its live ports stay', () => {
    const { h, a } = setUp();
    a.apply(spec({ rs: [{ i: 0 }], forwarding: 'fullnat', lips: [LIPS[0], LIPS[1]] }));
    const lipOf = (lip: string) => a.syncIndices(VIP, 80, abi.IPPROTO_TCP, RIPS[0], 8080, lip)?.lip;
    assert.deepEqual([lipOf(LIPS[0]), lipOf(LIPS[1])], [0, 1]);
    // connections until one leaves from LIPS[1]
    let lport = 0;
    let sport = 6000;
    for (; sport < 6010 && !lport; sport++) {
      const r = h.one(fromClient({ sport, dport: 80, flags: 'S' }), S);
      const ip = decodeFrame(r.out, true).ip!;
      if (ip.src === LIPS[1]) lport = ip.tcp!.sport;
    }
    assert.ok(lport, 'a connection from the second LIP');
    const used = h.tables.lipUsage(1).used;
    a.apply(spec({ rs: [{ i: 0 }], forwarding: 'fullnat', lips: [LIPS[1], LIPS[2]] }));
    assert.equal(lipOf(LIPS[1]), 1, 'kept its position');
    // the hole still names the tuples LIPS[0]'s sessions hold: it is filled once they are gone
    assert.equal(lipOf(LIPS[2]), 2, 'the new one goes past the hole its predecessor\'s tuples still hold');
    assert.equal(lipOf(LIPS[0]), undefined);
    assert.equal(h.tables.lipUsage(1).used, used, 'its count of held tuples was kept');
    // the server's reply to LIP:lport still finds the session and goes back to the client
    const reply = h.one(fromServer(0, { sport: 8080, dport: lport, flags: 'SA', dst: LIPS[1] }), 2 * S, { dev: 1 });
    assert.equal(reply.verdict, abi.VERDICT_FORWARD, `reason ${reply.reason}`);
    const back = decodeFrame(reply.out, true).ip!;
    assert.deepEqual([back.src, back.dst, back.tcp!.dport], [VIP, CIP, sport - 1]);
  });

  it('applies health verdicts: quiesce sets weight 0, remove takes the slot away, and both come back', () => {
    const { h, a } = setUp();
    const quiesce = spec({ rs: [{ i: 0 }, { i: 1 }] });
    a.apply(quiesce);
    assert.equal(a.setHealth('web', `${RIPS[0]}:8080`, false, quiesce), true);
    assert.equal(a.view()[0].realServers[0].weight, 0);
    assert.equal(a.view()[0].realServers[0].healthy, false);
    for (let p = 0; p < 4; p++) assert.equal(synTo(h, 7000 + p), RIPS[1]);
    a.setHealth('web', `${RIPS[0]}:8080`, true, quiesce);
    assert.equal(a.view()[0].realServers[0].weight, 1);
    assert.equal(a.setHealth('web', '10.9.9.9:1', false, quiesce), false, 'unknown target');

    const remove = spec({ rs: [{ i: 0 }, { i: 1 }], onFailure: 'remove' });
    a.apply(remove);
    a.setHealth('web', `${RIPS[1]}:8080`, false, remove);
    assert.equal(a.view()[0].realServers[1].index, null);
    for (let p = 0; p < 4; p++) assert.equal(synTo(h, 7100 + p, 2 * S), RIPS[0]);
    a.setHealth('web', `${RIPS[1]}:8080`, true, remove);
    assert.notEqual(a.view()[0].realServers[1].index, null);
  });
});
