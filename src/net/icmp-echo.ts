// icmp-echo.ts — answers ICMP echo requests (RFC 792) to the addresses the director owns, so
// `ping VIP` works as on a kernel-run director. Rare frames: plain TypeScript is fine here.

import { checksum } from './checksum.js';

/**
 * echoReply turns an echo request frame (Ethernet when `l2`, bare IPv4 otherwise) into its
 * reply, or returns null when the frame is not a well-formed echo request.
 */
export function echoReply(frame: Uint8Array, l2: boolean): Uint8Array | null {
  const ipAt = l2 ? 14 : 0;
  if (frame.length < ipAt + 28) return null;
  if (l2 && (frame[12] !== 0x08 || frame[13] !== 0x00)) return null;
  const ihl = (frame[ipAt] & 15) * 4;
  const tot = (frame[ipAt + 2] << 8) | frame[ipAt + 3];
  if (frame[ipAt] >> 4 !== 4 || ihl < 20 || tot < ihl + 8 || ipAt + tot > frame.length) return null;
  if (frame[ipAt + 9] !== 1 || frame[ipAt + ihl] !== 8) return null;
  const out = frame.slice(0, ipAt + tot);
  if (l2) {
    out.set(frame.subarray(6, 12), 0);
    out.set(frame.subarray(0, 6), 6);
  }
  out.set(frame.subarray(ipAt + 16, ipAt + 20), ipAt + 12);
  out.set(frame.subarray(ipAt + 12, ipAt + 16), ipAt + 16);
  out[ipAt + 8] = 64;
  out[ipAt + 10] = 0;
  out[ipAt + 11] = 0;
  const ipSum = checksum(out.subarray(ipAt, ipAt + ihl));
  out[ipAt + 10] = ipSum >> 8;
  out[ipAt + 11] = ipSum & 0xff;
  const icmp = ipAt + ihl;
  out[icmp] = 0;
  out[icmp + 2] = 0;
  out[icmp + 3] = 0;
  const s = checksum(out.subarray(icmp, ipAt + tot));
  out[icmp + 2] = s >> 8;
  out[icmp + 3] = s & 0xff;
  return out;
}
