// host-stack.ts — what the director answers itself on its devices: ARP for every address it owns
// (VIPs, DIPs, LIPs), ARP replies that resolve next hops, and ICMP echo to owned addresses; VRRP
// advertisements go to the failover controller. Frames arrive here only when the core gave them
// the HOST verdict, which is rare.
import { ARP_REQUEST, arpReply, gratuitousArp, parseArp } from '../net/arp.js';
import { echoReply } from '../net/icmp-echo.js';
import type { Neighbours } from '../net/neighbours.js';

export interface HostStackDevice { l2: boolean; mac: string }

export interface HostStackStats {
  arpAnswered: number; arpLearned: number; echoAnswered: number; vrrp: number; unhandled: number;
}

const IPPROTO_VRRP = 112;

/** HostStack answers HOST frames; `send` writes a frame to a device. */
export class HostStack {
  readonly stats: HostStackStats = { arpAnswered: 0, arpLearned: 0, echoAnswered: 0, vrrp: 0, unhandled: 0 };
  /** VRRP advertisements are handed here (the failover controller), when there is one */
  onVrrp: ((device: number, frame: Uint8Array) => void) | null = null;
  /** per device: the VRRP virtual MAC that answers for `addresses` while master (RFC 5798 §7.3) */
  #virtual = new Map<number, { mac: string; addresses: () => string[] }>();
  #devices: HostStackDevice[];
  #owned: () => Set<string>;
  #neighbours: Neighbours;
  #send: (device: number, frame: Uint8Array) => void;

  constructor(devices: HostStackDevice[], owned: () => Set<string>, neighbours: Neighbours,
    send: (device: number, frame: Uint8Array) => void) {
    this.#devices = devices;
    this.#owned = owned;
    this.#neighbours = neighbours;
    this.#send = send;
  }

  /** handle takes one HOST frame from `device`. */
  handle = (device: number, frame: Uint8Array): void => {
    const dev = this.#devices[device];
    if (dev.l2) {
      const arp = parseArp(frame);
      if (arp) {
        this.#neighbours.learn(device, arp);
        this.stats.arpLearned++;
        if (arp.op === ARP_REQUEST && this.#owned().has(arp.targetIp) && arp.senderIp !== arp.targetIp) {
          this.#send(device, arpReply(this.#macFor(device, arp.targetIp), arp));
          this.stats.arpAnswered++;
        }
        return;
      }
    }
    const ip = dev.l2 ? 14 : 0;
    const ipv4 = !dev.l2 || (frame[12] === 0x08 && frame[13] === 0x00);
    if (frame.length > ip + 20 && frame[ip + 9] === IPPROTO_VRRP && ipv4) {
      this.stats.vrrp++;
      this.onVrrp?.(device, frame);
      return;
    }
    const reply = echoReply(frame, dev.l2);
    if (reply) {
      this.#send(device, reply);
      this.stats.echoAnswered++;
      return;
    }
    this.stats.unhandled++;
  };

  /** announce sends gratuitous ARP for `addresses` on every L2 device (after taking them over). */
  announce(addresses: Iterable<string>): void {
    this.#devices.forEach((d, i) => {
      if (!d.l2) return;
      for (const a of addresses) this.#send(i, gratuitousArp(this.#macFor(i, a), a));
    });
  }

  /**
   * setVirtualMac makes `device` answer ARP for `addresses()` with `mac` (and announce them
   * with it), or with its own MAC again when `mac` is null.
   */
  setVirtualMac(device: number, mac: string | null, addresses: () => string[] = () => []): void {
    if (mac) this.#virtual.set(device, { mac, addresses });
    else this.#virtual.delete(device);
  }

  #macFor(device: number, address: string): string {
    const v = this.#virtual.get(device);
    return v && v.addresses().includes(address) ? v.mac : this.#devices[device].mac;
  }
}
