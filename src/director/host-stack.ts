// host-stack.ts — what the director answers itself on its devices: ARP and IPv6 neighbour
// solicitations for every address it owns (VIPs, DIPs, LIPs), ARP replies and neighbour
// advertisements that resolve next hops, and ICMP / ICMPv6 echo to owned addresses (also when
// the request came in fragments: the host reassembles those); VRRP advertisements go to the
// failover controller. Frames arrive here only when the core gave them the HOST verdict, which
// is rare.
import { ARP_REQUEST, arpReply, gratuitousArp, parseArp } from '../net/arp.js';
import { echoReply } from '../net/icmp-echo.js';
import { ND_NA, ND_NS, echoReply6, neighbourAdvertisement, parseNdp, unsolicitedAdvertisement } from '../net/ndp.js';
import type { Neighbours } from '../net/neighbours.js';
import { Reassembler, fragmentPacket } from '../net/reassembly.js';

export interface HostStackDevice { l2: boolean; mac: string; mtu?: number }

export interface HostStackStats {
  arpAnswered: number; arpLearned: number; ndAnswered: number; ndLearned: number; echoAnswered: number;
  fragmentsReassembled: number; vrrp: number; unhandled: number;
}

const IPPROTO_VRRP = 112;

/** HostStack answers HOST frames; `send` writes a frame to a device. */
export class HostStack {
  readonly stats: HostStackStats = {
    arpAnswered: 0, arpLearned: 0, ndAnswered: 0, ndLearned: 0, echoAnswered: 0, fragmentsReassembled: 0, vrrp: 0,
    unhandled: 0,
  };
  /** VRRP advertisements are handed here (the failover controller), when there is one */
  onVrrp: ((device: number, frame: Uint8Array) => void) | null = null;
  /** per device: the VRRP virtual MAC that answers for `addresses` while master (RFC 5798 §7.3) */
  #virtual = new Map<number, { mac: string; addresses: () => string[] }>();
  #devices: HostStackDevice[];
  #owned: () => Set<string>;
  #neighbours: Neighbours;
  #send: (device: number, frame: Uint8Array) => void;
  #reassembler: Reassembler;

  constructor(devices: HostStackDevice[], owned: () => Set<string>, neighbours: Neighbours,
    send: (device: number, frame: Uint8Array) => void, now: () => number = () => performance.now()) {
    this.#devices = devices;
    this.#owned = owned;
    this.#neighbours = neighbours;
    this.#send = send;
    this.#reassembler = new Reassembler(now);
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
      const nd = parseNdp(frame);
      if (nd) {
        this.#neighbourDiscovery(device, nd);
        return;
      }
    }
    const ip = dev.l2 ? 14 : 0;
    const ipv4 = dev.l2 ? frame[12] === 0x08 && frame[13] === 0x00 : frame[0] >> 4 === 4;
    if (frame.length > ip + 20 && frame[ip + 9] === IPPROTO_VRRP && ipv4) {
      this.stats.vrrp++;
      this.onVrrp?.(device, frame);
      return;
    }
    // a fragment of a packet for us (a large echo request): keep it until the packet is whole
    const whole = this.#reassembler.add(frame, dev.l2);
    if (whole === null) return;
    if (whole !== frame) this.stats.fragmentsReassembled++;
    const reply = echoReply(whole, dev.l2) ?? echoReply6(whole, dev.l2);
    if (reply) {
      for (const f of fragmentPacket(reply, dev.l2, dev.mtu ?? 1500)) this.#send(device, f);
      this.stats.echoAnswered++;
      return;
    }
    this.stats.unhandled++;
  };

  #neighbourDiscovery(device: number, nd: ReturnType<typeof parseNdp> & object): void {
    if (nd.type === ND_NA && nd.linkAddress) {
      this.#neighbours.learnAddress(device, nd.target, nd.linkAddress);
      this.stats.ndLearned++;
    } else if (nd.type === ND_NS && nd.linkAddress && nd.srcIp !== '::') {
      this.#neighbours.learnAddress(device, nd.srcIp, nd.linkAddress);
      this.stats.ndLearned++;
    }
    if (nd.type === ND_NS && this.#owned().has(nd.target)) {
      this.#send(device, neighbourAdvertisement(this.#macFor(device, nd.target), nd));
      this.stats.ndAnswered++;
    }
  }

  /**
   * announce tells every L2 segment that `addresses` are here (after taking them over): gratuitous
   * ARP for IPv4, an unsolicited neighbour advertisement with the override flag for IPv6.
   */
  announce(addresses: Iterable<string>): void {
    this.#devices.forEach((d, i) => {
      if (!d.l2) return;
      for (const a of addresses) {
        // a link-local address belongs to one link: never announced on another
        if (a.startsWith('fe80:')) continue;
        const mac = this.#macFor(i, a);
        this.#send(i, a.includes(':') ? unsolicitedAdvertisement(mac, a) : gratuitousArp(mac, a));
      }
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
