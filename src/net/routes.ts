// routes.ts — the director's own small routing table: which device and next hop reach an
// address. Connected subnets come from the devices' addresses, the rest from configured routes.
// Used by the control plane only (choosing RS_DEV and whom to ARP for), never per packet.
import { inPrefix, parseCidr } from '../model/address.js';

export interface Route {
  /** network address and prefix length */
  network: string;
  prefix: number;
  device: number;
  /** next-hop gateway; null = on-link */
  via: string | null;
}

export interface NextHop { device: number; address: string }

/** inSubnet: `ip` lies in network/prefix; addresses of another family never do */
export function inSubnet(ip: string, network: string, prefix: number): boolean {
  return inPrefix(ip, network, prefix);
}

/** RouteTable answers "how do I reach X" by longest prefix; connected routes win ties. */
export class RouteTable {
  #routes: Route[] = [];

  add(route: Route): void {
    this.#routes.push(route);
    // longest prefix first; among equals, on-link before gateways
    this.#routes.sort((a, b) => b.prefix - a.prefix || Number(a.via !== null) - Number(b.via !== null));
  }

  /** addConnected adds the on-link subnet of an interface address like "10.0.2.1/24" or "2001:db8::1/64". */
  addConnected(cidr: string, device: number): void {
    const { address, prefix } = parseCidr(cidr);
    this.add({ network: address, prefix, device, via: null });
  }

  /** lookup returns the device and the neighbour to send to for `ip`, or null if unroutable. */
  lookup(ip: string): NextHop | null {
    for (const r of this.#routes) {
      if (inSubnet(ip, r.network, r.prefix)) return { device: r.device, address: r.via ?? ip };
    }
    return null;
  }

  get routes(): readonly Route[] {
    return this.#routes;
  }
}
