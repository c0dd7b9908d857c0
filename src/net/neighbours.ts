// neighbours.ts — resolves the MACs of next hops (real servers, gateways) on L2 devices with
// ARP (IPv4) or neighbour solicitations (IPv6, RFC 4861), retrying, and keeps them fresh. It
// never forgets a MAC on its own: whether a server is
// alive is the health checker's call; an ARP that goes unanswered only keeps being retried.
import { ARP_REPLY, ARP_REQUEST, type ArpPacket, arpRequest } from './arp.js';
import { neighbourSolicitation } from './ndp.js';

export interface NeighbourIo {
  /** sends an Ethernet frame out of device `device` */
  send(device: number, frame: Uint8Array): void;
  /** the director's MAC and source addresses for ARP and neighbour solicitations on `device` */
  identity(device: number): { mac: string; address: string; address6?: string | null };
  now(): number;
}

export interface NeighbourOptions {
  /** delay between unanswered requests (ms) */
  retryMs?: number;
  /** after this many unanswered requests, slow down to `slowRetryMs` */
  fastTries?: number;
  slowRetryMs?: number;
  /** re-ask a resolved neighbour this often (ms), to follow a changed MAC */
  refreshMs?: number;
}

interface Entry {
  device: number;
  address: string;
  mac: string | null;
  tries: number;
  nextAt: number;
}

type Listener = (device: number, address: string, mac: string) => void;

/** Neighbours keeps the wanted next hops and their MACs; call tick() regularly. */
export class Neighbours {
  #io: NeighbourIo;
  #entries = new Map<string, Entry>();
  #listeners: Listener[] = [];
  #retryMs: number;
  #fastTries: number;
  #slowRetryMs: number;
  #refreshMs: number;

  constructor(io: NeighbourIo, opts: NeighbourOptions = {}) {
    this.#io = io;
    this.#retryMs = opts.retryMs ?? 1000;
    this.#fastTries = opts.fastTries ?? 3;
    this.#slowRetryMs = opts.slowRetryMs ?? 5000;
    this.#refreshMs = opts.refreshMs ?? 60_000;
  }

  /** onResolved registers a callback for a new or changed MAC. */
  onResolved(fn: Listener): void {
    this.#listeners.push(fn);
  }

  /** want starts resolving `address` on `device` (idempotent) and asks at once. */
  want(device: number, address: string): void {
    const key = `${device}/${address}`;
    if (this.#entries.has(key)) return;
    const e: Entry = { device, address, mac: null, tries: 0, nextAt: 0 };
    this.#entries.set(key, e);
    this.#ask(e);
  }

  lookup(device: number, address: string): string | null {
    return this.#entries.get(`${device}/${address}`)?.mac ?? null;
  }

  /** learn takes any ARP seen on `device`: a reply or request from a wanted address resolves it. */
  learn(device: number, arp: ArpPacket): void {
    if (arp.op !== ARP_REPLY && arp.op !== ARP_REQUEST) return;
    this.learnAddress(device, arp.senderIp, arp.senderMac);
  }

  /**
   * learnAddress records that `address` is at `mac` on `device` if it is wanted: from ARP, or from
   * a neighbour advertisement (its target) or solicitation (its source) carrying a link address.
   */
  learnAddress(device: number, address: string, mac: string): void {
    const e = this.#entries.get(`${device}/${address}`);
    if (!e || mac === '00:00:00:00:00:00') return;
    const changed = e.mac !== mac;
    e.mac = mac;
    e.tries = 0;
    e.nextAt = this.#io.now() + this.#refreshMs;
    if (changed) for (const fn of this.#listeners) fn(device, e.address, e.mac);
  }

  /** tick sends the requests that are due; returns how many it sent. */
  tick(): number {
    const now = this.#io.now();
    let sent = 0;
    for (const e of this.#entries.values()) {
      if (now >= e.nextAt) {
        this.#ask(e);
        sent++;
      }
    }
    return sent;
  }

  #ask(e: Entry): void {
    const me = this.#io.identity(e.device);
    if (e.address.includes(':')) {
      // without an IPv6 address of our own on the device there is nothing to ask from
      if (me.address6) this.#io.send(e.device, neighbourSolicitation(me.mac, me.address6, e.address));
    } else {
      this.#io.send(e.device, arpRequest(me.mac, me.address, e.address));
    }
    e.tries++;
    const wait = e.mac ? this.#retryMs : e.tries < this.#fastTries ? this.#retryMs : this.#slowRetryMs;
    e.nextAt = this.#io.now() + wait;
  }

  get size(): number {
    return this.#entries.size;
  }
}
