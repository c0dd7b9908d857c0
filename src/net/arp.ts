// arp.ts — ARP frames (RFC 826) for a director that is a host on its segments: it answers for
// the addresses it owns, asks for real servers' and gateways' MACs, and announces its VIPs with
// gratuitous ARP (RFC 5227 §3) when it takes them over.
import { formatMac, ipv4ToNumber, numberToIpv4, parseMac } from '../model/address.js';

const ETH_P_ARP = 0x0806;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

export interface ArpPacket {
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** parseArp decodes an Ethernet/IPv4 ARP frame; null for anything else or a short frame. */
export function parseArp(frame: Uint8Array): ArpPacket | null {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x06) return null;
  const a = 14;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (dv.getUint16(a) !== 1 || dv.getUint16(a + 2) !== 0x0800 || frame[a + 4] !== 6 || frame[a + 5] !== 4) return null;
  return {
    op: dv.getUint16(a + 6),
    senderMac: formatMac(frame.subarray(a + 8, a + 14)),
    senderIp: numberToIpv4(dv.getUint32(a + 14)),
    targetMac: formatMac(frame.subarray(a + 18, a + 24)),
    targetIp: numberToIpv4(dv.getUint32(a + 24)),
  };
}

/** arpFrame builds an ARP frame; Ethernet destination defaults to the target MAC. */
function arpFrame(op: number, senderMac: string, senderIp: string, targetMac: string, targetIp: string,
  ethDst = targetMac): Uint8Array {
  const f = new Uint8Array(42);
  const dv = new DataView(f.buffer);
  f.set(parseMac(ethDst), 0);
  f.set(parseMac(senderMac), 6);
  dv.setUint16(12, ETH_P_ARP);
  dv.setUint16(14, 1);
  dv.setUint16(16, 0x0800);
  f[18] = 6;
  f[19] = 4;
  dv.setUint16(20, op);
  f.set(parseMac(senderMac), 22);
  dv.setUint32(28, ipv4ToNumber(senderIp));
  f.set(parseMac(targetMac), 32);
  dv.setUint32(38, ipv4ToNumber(targetIp));
  return f;
}

/** arpRequest asks who has `targetIp`, broadcast. */
export function arpRequest(ourMac: string, ourIp: string, targetIp: string): Uint8Array {
  return arpFrame(ARP_REQUEST, ourMac, ourIp, '00:00:00:00:00:00', targetIp, BROADCAST);
}

/** arpReply tells `request`'s sender that `ourMac` has the address it asked for. */
export function arpReply(ourMac: string, request: ArpPacket): Uint8Array {
  return arpFrame(ARP_REPLY, ourMac, request.targetIp, request.senderMac, request.senderIp);
}

/** gratuitousArp announces `ip` at `ourMac` (a request for our own address, broadcast). */
export function gratuitousArp(ourMac: string, ip: string): Uint8Array {
  return arpFrame(ARP_REQUEST, ourMac, ip, '00:00:00:00:00:00', ip, BROADCAST);
}
