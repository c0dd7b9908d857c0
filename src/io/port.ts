// port.ts — what the director needs from device I/O, and nothing more: open and close its
// devices, and one batched port per memory that moves frames between the devices and the frame
// slots. Two implementations: the native addon (device.ts `nativeIo`, over native/wlvs_io.c) and
// a fake for tests without root (fake-io.ts). Another engine (worker threads, epoll) implements
// this same interface; the director does not change.
//
// The contract of a batch (docs: DESIGN "Batches, not packets"), which every implementation keeps:
//  1. Frames of ONE device are read straight into slots 0..count-1 of the memory: slot i's frame
//     starts at slotBase + i * slotSize + headroom; with a virtio header (vnet) its 10 bytes sit
//     just before. Descriptor i (abi.DESC_*) gets off, len, verdict 0, inDev = outDev = device.
//  2. onBatch(device, count) is called once, on the JS thread; it runs process() and may send()
//     host frames. Nothing touches the slots while it runs.
//  3. When it returns, every slot whose verdict is FORWARD is written to its descriptor's outDev
//     (with the vnet header before it when the port is vnet); others are dropped. A descriptor
//     pointing outside the memory, or at a device that does not exist, is counted, not written.
//  4. The memory never grows: the port keeps views or pointers into it.

/** Options for opening one TUN or TAP device. */
export interface DeviceOptions {
  name: string;
  kind: 'tap' | 'tun';
  mtu: number;
  bridge: string | null;
  /** IFF_VNET_HDR: the kernel hands over partial checksums */
  vnet: boolean;
  /** with vnet: also accept TSO super-packets (up to 64 KiB) */
  tso: boolean;
}

/** An open device; `fd` means something only to the implementation that opened it. */
export interface OpenDevice {
  name: string;
  kind: 'tap' | 'tun';
  fd: number;
  vnet: boolean;
}

/** Where the slots and descriptors lie in the memory (see memory-map.ts). */
export interface PortLayout {
  descBase: number; slotBase: number; slotSize: number; headroom: number; slotCount: number;
  /** keep polling every device this long after a wakeup (0: off, at most 1000) */
  busyPollUs?: number;
}

export interface PortStats {
  wakeups: number; batches: number; rxFrames: number; txFrames: number; txDrops: number; rxErrors: number;
  txErrors: number; badDescriptors: number; maxBatch: number; hostSent: number;
  /** batches found while busy polling, each one a wakeup saved */
  busyPollBatches: number;
}

/** Called once per batch: frames are in slots [0, count) of `device`. */
export type BatchHandler = (device: number, count: number) => void;

/** BatchPort moves batches of frames between devices and the slots of one memory. */
export interface BatchPort {
  /** addDevice registers an open device (all of a port's devices share the vnet setting); returns its index */
  addDevice(device: OpenDevice): number;
  /** start begins reading; `onBatch` runs for each batch read (contract above) */
  start(onBatch: BatchHandler): void;
  /** send writes one frame the host built (ARP, ICMP) to a device; false if it was dropped */
  send(device: number, frame: Uint8Array): boolean;
  stats(): PortStats;
  /** stop ends reading (safe twice, and from inside onBatch); the devices stay open */
  stop(): void;
}

/** DeviceIo opens devices and creates ports: the director's whole view of device I/O. */
export interface DeviceIo {
  /** openDevice creates the device and brings it up (MTU, bridge); WLVS_ERR_DEVICE on failure */
  openDevice(o: DeviceOptions): Promise<OpenDevice>;
  /** closeDevice closes it; the (non-persistent) device then disappears */
  closeDevice(d: OpenDevice): void;
  createPort(memory: WebAssembly.Memory, layout: PortLayout): BatchPort;
}
