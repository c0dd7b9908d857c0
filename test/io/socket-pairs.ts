// socket-pairs.ts — the network of the native-engine tests without root (worker-port*.test.ts):
// every device queue is a datagram socket pair (one read is one frame, as on a TAP), the
// director gets one end, the test keeps the other and plays the hosts on it; plus cores built on
// the spot that fit the contract but do something a test can recognise.
import assert from 'node:assert/strict';
import binaryen from 'binaryen';
import * as abi from '../../src/dataplane/abi.js';
import { nativeIo } from '../../src/io/device.js';
import { native } from '../../src/io/native.js';
import type { DeviceIo, OpenDevice } from '../../src/io/port.js';
import { arpReply, bytesToIp } from '../oracle/packet.js';
import { CIP, CLIENT_MAC, RIPS, RS_MACS } from '../director/fixture.js';

/** PairIo opens each device as one socket pair per queue (director.workers of them) */
export class PairIo implements DeviceIo {
  /** the test's ends: peers[device][queue] */
  readonly peers: number[][] = [];
  async openDevice(o: { name: string; kind: 'tap' | 'tun'; vnet: boolean; queues?: number }): Promise<OpenDevice> {
    const pairs = Array.from({ length: o.queues ?? 1 }, () => native().socketPair());
    this.peers.push(pairs.map(([, peer]) => peer));
    const queues = pairs.map(([mine]) => mine);
    return { name: o.name, kind: o.kind, fd: queues[0], queues, vnet: o.vnet };
  }

  closeDevice(d: OpenDevice): void {
    for (const fd of d.queues ?? [d.fd]) native().closeFd(fd);
  }

  createPort = nativeIo.createPort;
}

/** the network: answers ARP for the real servers and the client, keeps every other frame per device and queue */
export class Wire {
  /** every frame a device wrote, in the order read (all queues) */
  readonly frames: Uint8Array[][];
  /** the same, per queue: byQueue[device][queue] */
  readonly byQueue: Uint8Array[][][];
  /** ARP replies sent into each device queue (frames its worker reads besides the test's own) */
  readonly arpReplies: number[][];
  #timer: NodeJS.Timeout;
  #buf = new Uint8Array(65536);
  /** made before the director opens its devices: it reads whatever peers `io` has by then */
  constructor(readonly io: PairIo, devices = 2, queues = 1) {
    this.frames = Array.from({ length: devices }, () => []);
    this.byQueue = Array.from({ length: devices }, () => Array.from({ length: queues }, () => []));
    this.arpReplies = Array.from({ length: devices }, () => Array<number>(queues).fill(0));
    const macs = new Map([...RIPS.map((r, i) => [r, RS_MACS[i]] as const), [CIP, CLIENT_MAC]]);
    this.#timer = setInterval(() => {
      for (const [dev, queues] of io.peers.entries()) {
        for (const [q, fd] of queues.entries()) {
          for (let n = native().recvFrame(fd, this.#buf); n > 0; n = native().recvFrame(fd, this.#buf)) {
            const f = this.#buf.slice(0, n);
            if (f[12] === 0x08 && f[13] === 0x06) {
              const target = bytesToIp(f, 38);
              const mac = macs.get(target);
              const asker = Array.from(f.subarray(22, 28), (b) => b.toString(16).padStart(2, '0')).join(':');
              if (f[21] === 1 && mac && bytesToIp(f, 28) !== target) {
                this.send(dev, arpReply(mac, target, asker, bytesToIp(f, 28)), q);
                this.arpReplies[dev][q]++;
              }
              continue;
            }
            this.frames[dev].push(f);
            this.byQueue[dev][q].push(f);
          }
        }
      }
    }, 2);
  }

  /** send a frame into device `dev` through queue `queue` (the worker of that queue reads it) */
  send(dev: number, frame: Uint8Array, queue = 0): void {
    assert.ok(native().sendFrame(this.io.peers[dev][queue], false, frame) > 0, 'the socket took the frame');
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const fd of this.io.peers.flat()) native().closeFd(fd);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * a module that fits the contract and forwards nothing (every frame keeps the DROP verdict the
 * port set). With `markAt`, process(lane, count) also adds count to the u32 at markAt + 4 × lane
 * (atomically): which worker ran it, on how many frames.
 */
export function dropAllCore(markAt?: number): Uint8Array {
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.Atomics);
  m.setMemory(1, 65536, null, [], true);
  m.addMemoryImport('0', 'env', 'memory');
  const values: Record<string, number> = { abiVersion: abi.ABI_VERSION, staticEnd: 1024 };
  const i32 = binaryen.i32;
  for (const name of abi.CORE_EXPORTS) {
    const params = binaryen.createType(Array(name === 'process' || name === 'sweep' ? 3 : 0).fill(i32));
    let body = m.i32.const(values[name] ?? 0);
    if (name === 'process' && markAt !== undefined) {
      const at = m.i32.add(m.i32.const(markAt), m.i32.shl(m.local.get(0, i32), m.i32.const(2)));
      body = m.block(null, [m.drop(m.i32.atomic.rmw.add(0, at, m.local.get(1, i32))), body], i32);
    }
    m.addFunction(name, params, i32, [], body);
    m.addFunctionExport(name, name);
  }
  assert.ok(m.validate());
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}
