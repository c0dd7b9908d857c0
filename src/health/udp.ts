// udp.ts — UDP_CHECK: send a payload from a connected socket. Up when a reply comes back; or,
// with expect_reply false, when no ICMP port-unreachable comes back before the timeout (the
// kernel reports it on a connected socket as ECONNREFUSED). The socket is the native addon's
// (udpProbe): Deno's node:dgram never reports that ECONNREFUSED, so both runtimes use it.
import { native } from '../io/native.js';
import { type Checker, abortable, checkPort, timed } from './checker.js';

export const udpCheck: Checker = (t, signal) => timed(() => {
  // with a reply expected, wait the whole timeout (the runner's signal ends it); without, silence
  // until just before the deadline counts as success
  const waitMs = Math.max(10, t.check.timeout * 1000 * (t.check.expectReply ? 1 : 0.8));
  return abortable(signal, async () => {
    const r = await native().udpProbe(t.address, checkPort(t), Buffer.from(t.check.payload), Math.round(waitMs));
    if (r.outcome === 'reply') return `reply of ${r.bytes} bytes`;
    if (r.outcome === 'refused') throw new Error('port unreachable');
    if (t.check.expectReply) throw new Error('no reply');
    return 'no ICMP unreachable';
  });
});
