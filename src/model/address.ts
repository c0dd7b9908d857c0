// address.ts — parsing and formatting of the addresses the whole host speaks in (IPv4 dotted
// quads, IPv6 in RFC 5952 text form, CIDR prefixes of both families, MACs). The bottom of the
// house: it imports nothing of wlvs's.

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

export function isIpv4(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255);
}

/**
 * parseIpv6 reads any RFC 4291 §2.2 text form (`::` once, an embedded dotted quad at the end)
 * into 16 bytes; null when the text is not an IPv6 address. A zone (`%eth0`) is not accepted.
 */
export function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        if (!isIpv4(p)) return null;
        const n = ipv4ToNumber(p);
        out.push(n >>> 16, n & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  // a dotted quad is only allowed at the very end
  if (halves.length === 2 && halves[0].includes('.')) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const words = [...head, ...new Array(fill).fill(0), ...tail];
  const b = new Uint8Array(16);
  words.forEach((w, i) => {
    b[2 * i] = w >> 8;
    b[2 * i + 1] = w & 0xff;
  });
  return b;
}

export function isIpv6(s: string): boolean {
  return parseIpv6(s) !== null;
}

/** formatIpv6 writes 16 bytes in RFC 5952 form: lowercase, no leading zeros, the longest zero run as `::`. */
export function formatIpv6(b: Uint8Array, at = 0): string {
  const words = Array.from({ length: 8 }, (_, i) => (b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    // RFC 5952 §4.2.2: a single zero group is not shortened; §4.2.3: the first longest run wins
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

export type Family = 4 | 6;

/** familyOf says which family a textual address belongs to; throws when it is neither. */
export function familyOf(ip: string): Family {
  if (isIpv4(ip)) return 4;
  if (isIpv6(ip)) return 6;
  throw new TypeError(`not an IP address: ${ip}`);
}

/** canonicalIp returns the one text form wlvs keeps an address in (RFC 5952 for IPv6). */
export function canonicalIp(ip: string): string {
  const b = parseIpv6(ip);
  if (b) return formatIpv6(b);
  if (isIpv4(ip)) return numberToIpv4(ipv4ToNumber(ip));
  throw new TypeError(`not an IP address: ${ip}`);
}

/** ipBytes: the 4 or 16 wire bytes of an address */
export function ipBytes(ip: string): Uint8Array {
  const b = parseIpv6(ip);
  if (b) return b;
  const n = ipv4ToNumber(ip);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/**
 * hostPort joins an address and a port as users write them: `10.0.0.1:80`, `[2001:db8::1]:80`
 * (RFC 3986 §3.2.2, and how `ipvsadm -Ln` prints IPv6 services).
 */
export function hostPort(address: string, port: number | string): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * splitHostPort reads `10.0.0.1`, `10.0.0.1:80`, `2001:db8::1`, `[2001:db8::1]` or
 * `[2001:db8::1]:80`; port is null when none is given. Null for anything else.
 */
export function splitHostPort(text: string): { address: string; port: number | null } | null {
  let m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (m) {
    if (!isIpv6(m[1])) return null;
    return { address: canonicalIp(m[1]), port: m[2] === undefined ? null : Number(m[2]) };
  }
  if (isIpv6(text)) return { address: canonicalIp(text), port: null };
  m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d{1,5}))?$/.exec(text);
  if (m && isIpv4(m[1])) return { address: m[1], port: m[2] === undefined ? null : Number(m[2]) };
  return null;
}

/** prefixToMask turns a prefix length (0..32) into a netmask number. */
export function prefixToMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** prefixMask6: the 16-byte mask of an IPv6 prefix length (0..128) */
export function prefixMask6(prefix: number): Uint8Array {
  const m = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    m[i] = (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

/** inPrefix: `ip` lies in network/prefix (both of the same family; false across families) */
export function inPrefix(ip: string, network: string, prefix: number): boolean {
  const a = ipBytes(ip);
  const n = ipBytes(network);
  if (a.length !== n.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const i = bit >> 3;
    const m = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
    if ((a[i] & m) !== (n[i] & m)) return false;
  }
  return true;
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

/**
 * parseCidr splits "10.0.0.1/24" or "2001:db8::1/64" into its (canonical) address and prefix
 * (no prefix = a host route: /32 or /128).
 */
export function parseCidr(cidr: string): { address: string; prefix: number; family: Family } {
  const [a, p, extra] = cidr.split('/');
  if (extra !== undefined) throw new TypeError(`bad prefix in ${cidr}`);
  const family = familyOf(a);
  const max = family === 4 ? 32 : 128;
  const prefix = p === undefined ? max : Number(p);
  if (!/^\d{1,3}$/.test(p ?? '0') || !Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new TypeError(`bad prefix in ${cidr}`);
  return { address: canonicalIp(a), prefix, family };
}

/** isCidr: an address of either family with an optional prefix in range */
export function isCidr(s: string): boolean {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}

/** linkLocalFromMac: the EUI-64 link-local address of an interface (RFC 4291 App. A, RFC 4862 §5.3) */
export function linkLocalFromMac(mac: string): string {
  const m = parseMac(mac);
  const b = new Uint8Array(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b.set([m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]], 8);
  return formatIpv6(b);
}

/** solicitedNode: the solicited-node multicast group of an address (RFC 4291 §2.7.1) */
export function solicitedNode(ip: string): string {
  const a = ipBytes(ip);
  const b = parseIpv6('ff02::1:ff00:0')!;
  b.set(a.subarray(13, 16), 13);
  return formatIpv6(b);
}

/** multicastMac: the Ethernet address an IPv6 multicast group maps to (RFC 2464 §7) */
export function multicastMac(group: string): string {
  const a = ipBytes(group);
  return formatMac(Uint8Array.of(0x33, 0x33, a[12], a[13], a[14], a[15]));
}

/**
 * fold6 folds an IPv6 address to the u32 the core keeps in its 4-byte address slots (service
 * index key, real-server id for Maglev, LIP table): the XOR of its four words loaded
 * little-endian, 1 if that is 0. The core computes the same (assembly/abi.ts, FOLD6).
 */
export function fold6(b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const x = (v.getUint32(0, true) ^ v.getUint32(4, true) ^ v.getUint32(8, true) ^ v.getUint32(12, true)) >>> 0;
  return x === 0 ? 1 : x;
}
