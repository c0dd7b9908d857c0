// address.ts — parsing and formatting of the addresses the whole host speaks in (IPv4 dotted
// quads, CIDR prefixes, MACs). The bottom of the house: it imports nothing of wlvs's.

/** ipv4ToNumber parses dotted quad into an unsigned 32-bit number (network order value). */
export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new TypeError(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new TypeError(`not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** prefixToMask turns a prefix length (0..32) into a netmask number. */
export function prefixToMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseMac(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`not a MAC address: ${mac}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** parseCidr splits "10.0.0.1/24" into its address and prefix (no prefix = /32). */
export function parseCidr(cidr: string): { address: string; prefix: number } {
  const [address, p] = cidr.split('/');
  const prefix = p === undefined ? 32 : Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new TypeError(`bad prefix in ${cidr}`);
  ipv4ToNumber(address);
  return { address, prefix };
}

