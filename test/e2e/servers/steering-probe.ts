// steering-probe.ts — run inside a test's own namespace: opens a two-queue TUN device, sends UDP
// flows through it from local sockets and reports which queue each flow's frames came out of,
// before and after wlvs wrote a frame of the flow's reverse direction on the *other* queue
// (as a worker does when it forwards). Prints one JSON line: { steering, flows: [[qa, qb]...] }.
//   steering-probe.js flow-hash|kernel tun|tap
import { createSocket, type Socket } from 'node:dgram';
import { readSync, writeSync } from 'node:fs';
import { native } from '../../../src/io/native.js';
import { run } from '../../../src/sys/run.js';
import { ethernet, udpPacket } from '../../oracle/packet.js';

const FLOWS = 16;
const LOCAL = '10.77.0.1';
const PEER = '10.77.0.2';
const PEER_MAC = '02:00:00:77:00:02';
const DEV_MAC = '02:00:00:77:00:01';
const mode = process.argv[2];
const tap = process.argv[3] === 'tap';
const l2 = tap ? 14 : 0;

const dev = native().openTun('wlst0', { tap, vnet: false, offload: 0, multiQueue: true, queues: 2, steering: mode === 'flow-hash' });
await run('ip', ['addr', 'add', `${LOCAL}/24`, 'dev', dev.name]);
if (tap) {
  await run('ip', ['link', 'set', 'dev', dev.name, 'address', DEV_MAC]);
  await run('ip', ['neigh', 'replace', PEER, 'lladdr', PEER_MAC, 'dev', dev.name, 'nud', 'permanent']);
}
await run('ip', ['link', 'set', 'dev', dev.name, 'up']);

const buf = Buffer.alloc(2048);
/** the queue the next frame of `sport` comes out of (other frames, e.g. IPv6 router solicitations, are skipped) */
async function queueOf(sport: number): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    for (let q = 0; q < 2; q++) {
      for (;;) {
        let n: number;
        try {
          n = readSync(dev.fds[q], buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
        if (n >= l2 + 28 && (!tap || buf.readUInt16BE(12) === 0x0800) && buf[l2] >> 4 === 4 && buf[l2 + 9] === 17 &&
          buf.readUInt16BE(l2 + 20) === sport) return q;
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no frame of port ${sport} on either queue`);
}

const send = (s: Socket) => new Promise<void>((res, rej) => s.send('probe', 9000, PEER, (e) => (e ? rej(e) : res())));
const flows: [number, number][] = [];
for (let k = 0; k < FLOWS; k++) {
  const sport = 40000 + k;
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(sport, LOCAL, res));
  await send(s);
  const qa = await queueOf(sport);
  // the reverse direction of the flow, written on the other queue
  const back = udpPacket({ src: PEER, dst: LOCAL }, { sport: 9000, dport: sport, payload: Buffer.from('back') });
  writeSync(dev.fds[1 - qa], tap ? ethernet(DEV_MAC, PEER_MAC, back) : back);
  await new Promise((r) => setTimeout(r, 5));
  await send(s);
  flows.push([qa, await queueOf(sport)]);
  s.close();
}
console.log(JSON.stringify({ steering: dev.steering ?? null, flows }));
for (const fd of dev.fds) native().closeFd(fd);
