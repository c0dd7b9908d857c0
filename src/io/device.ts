// device.ts — opens the director's TUN and TAP devices through the native addon and sets them
// up in the current network namespace (up, MTU, optional bridge). Devices are not persistent:
// closing the fd removes them, so a killed director leaves nothing behind. `nativeIo` is the
// DeviceIo (port.ts) the director uses unless a test gives it another.
import { createHash } from 'node:crypto';
import { WlvsError } from '../errors.js';
import { run } from '../sys/run.js';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, TUN_F_USO4, TUN_F_USO6, native } from './native.js';
import { WorkerPort } from './worker-port.js';
import type { DeviceIo, DeviceOptions, OpenDevice } from './port.js';

/** openDevice creates the device, brings it up with its MTU and bridge; returns its fd. */
async function openDevice(o: DeviceOptions): Promise<OpenDevice> {
  let offload = 0;
  // segmentation offloads: the kernel hands over (and takes back) TCP and UDP super-packets of up
  // to 64 KiB, one read and one write for what would be up to 45 frames (UDP: a GSO sender's
  // burst, or what GRO forwarding on the ingress aggregated)
  if (o.vnet) offload = TUN_F_CSUM | (o.tso ? TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6 : 0);
  const queues = o.queues ?? 1;
  let opened: { fd: number; fds: number[]; name: string; offload: number; steering?: string };
  try {
    // one worker keeps a single-queue device, as before workers existed: an existing
    // single-queue device someone made for wlvs still attaches
    opened = native().openTun(o.name, { tap: o.kind === 'tap', vnet: o.vnet, offload, multiQueue: queues > 1, queues,
      steering: o.steering ?? true });
  } catch (err) {
    const hint = queues > 1 ? ' (remove that device or set director.workers: 1)' : '';
    throw new WlvsError('WLVS_ERR_DEVICE', `cannot create ${o.kind} device ${o.name}: ${(err as Error).message}${hint}`);
  }
  try {
    // the TAP's MAC is set before it joins a bridge, which would otherwise adopt the kernel's random one
    const address = o.kind === 'tap' ? ['address', tapDeviceMac(o.directorMac ?? directorMac(o.name))] : [];
    const qlen = o.txqueuelen ? ['txqueuelen', String(o.txqueuelen)] : [];
    await run('ip', ['link', 'set', 'dev', opened.name, 'mtu', String(o.mtu), ...qlen, ...address]);
    if (o.bridge) await run('ip', ['link', 'set', 'dev', opened.name, 'master', o.bridge]);
    await run('ip', ['link', 'set', 'dev', opened.name, 'up']);
  } catch (err) {
    for (const fd of opened.fds) native().closeFd(fd);
    throw err;
  }
  const steering = queues > 1 ? { steering: opened.steering ?? 'kernel: chosen by director.queue_steering' } : {};
  return { name: opened.name, kind: o.kind, fd: opened.fd, queues: opened.fds, vnet: o.vnet,
    udpSegmentation: (opened.offload & TUN_F_USO4) !== 0, ...steering };
}

/** nativeIo: real TUN/TAP devices and the data-path worker over the addon's port. */
export const nativeIo: DeviceIo = {
  openDevice,
  // closing the fd removes the (non-persistent) device
  closeDevice: (d) => {
    for (const fd of d.queues ?? [d.fd]) native().closeFd(fd);
  },
  createPort: (memory, options) => new WorkerPort(memory, options),
};

/**
 * directorMac derives a stable, locally administered unicast MAC for the director on a TAP
 * segment. It must differ from the kernel TAP's own MAC: a bridge treats a port's own MAC as
 * its local address and would never forward frames for it to the TAP.
 */
export function directorMac(deviceName: string, salt = ''): string {
  const h = createHash('sha256').update(`wlvs/${deviceName}/${salt}`).digest();
  const b = [0x02, h[0], h[1], h[2], h[3], h[4]];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * tapDeviceMac is the kernel TAP device's own MAC: fe:ff: and the director MAC's last four bytes.
 * A Linux bridge whose MAC was never set takes the lowest of its ports' MACs, so a TAP with a
 * random MAC joining it changes the bridge's MAC one time in N+1 (N ports); every host on the
 * segment then keeps sending to the bridge's old MAC (its gateway, when the bridge holds the
 * kernel's address), which the bridge no longer takes as its own, until their ARP entries time
 * out: seconds of lost replies. fe:ff:... is above any port's MAC but a few, as libvirt does for
 * its guests' TAPs. It must differ from the director MAC (see directorMac).
 */
export function tapDeviceMac(director: string): string {
  const d = director.split(':').map((x) => parseInt(x, 16));
  const b = [0xfe, 0xff, d[2], d[3], d[4], d[5]];
  if (b.every((x, i) => x === d[i])) b[5] ^= 1;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
