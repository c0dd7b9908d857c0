// udp.ts — UDP_CHECK: send a payload from a connected socket. Up when a reply comes back; or,
// with expect_reply false, when no ICMP port-unreachable comes back before the timeout (the
// kernel reports it on a connected socket as ECONNREFUSED).
import { createSocket } from 'node:dgram';
import { type Checker, abortable, checkPort, timed } from './checker.js';

export const udpCheck: Checker = (t, signal) => timed(() => {
  const sock = createSocket(t.address.includes(':') ? 'udp6' : 'udp4');
  const done = () => { try { sock.close(); } catch { /* already closed */ } };
  // with no reply expected, silence until just before the deadline counts as success
  const quietMs = Math.max(10, t.check.timeout * 1000 * 0.8);
  return abortable(signal, (onAbort) => new Promise<string>((resolve, reject) => {
    onAbort(done);
    let timer: NodeJS.Timeout | null = null;
    sock.once('error', (e) => {
      if (timer) clearTimeout(timer);
      done();
      reject(new Error((e as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'port unreachable' : e.message));
    });
    sock.once('message', (msg) => {
      if (timer) clearTimeout(timer);
      done();
      resolve(`reply of ${msg.length} bytes`);
    });
    sock.connect(checkPort(t), t.address, () => {
      sock.send(Buffer.from(t.check.payload), (err) => {
        if (err) return reject(err);
        if (!t.check.expectReply) {
          timer = setTimeout(() => { done(); resolve('no ICMP unreachable'); }, quietMs);
        }
      });
    });
  })).finally(done);
});
