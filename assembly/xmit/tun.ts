// tun.ts — LVS-TUN: the packet CIP -> VIP travels unchanged inside an outer IPv4 header
// DIP -> RIP, protocol 4 (IP-in-IP, RFC 2003). The RS decapsulates, finds the VIP on its tunnel
// device and answers the client directly. The outer header goes into the slot's headroom: the
// payload never moves.
import {
  DEV_MTU, DROP_GSO, DROP_TOO_BIG, ETH_HLEN, IPPROTO_IPIP, RS_MAC, RS_RIP, VNET_CSUM_OFFSET, VNET_CSUM_START,
  VNET_FLAGS, VNET_F_NEEDS_CSUM, VNET_GSO_TYPE, VNET_HDR_LEN, VNET_GSO_NONE,
} from '../abi';
import { csumFinish, csumSum, ipHeaderChecksum } from '../csum';
import { bswap16 } from '../mem';
import {
  ETH_P_IP_RAW, ETH_TYPE, IP_CSUM, IP_DF_BYTE, IP_DF_RAW, IP_DST, IP_FRAG, IP_HLEN, IP_ID, IP_PROTO, IP_SRC, IP_TOS,
  IP_TOT_LEN, IP_TTL, IP_VIHL, IP_VIHL_PLAIN,
} from '../wire';
import { setMacs } from './rewrite';

/** tunIn result: the packet does not fit the tunnel and has DF, answer ICMP frag-needed */
// @ts-ignore: decorator
@inline export const TUN_FRAG_NEEDED: u32 = 0xff;
/** tunIn results below this are failures (a DROP_* reason or TUN_FRAG_NEEDED), not frames */
// @ts-ignore: decorator
@inline export const TUN_FAILED_BELOW: u32 = 0x10000;

/**
 * finishChecksum completes a NEEDS_CSUM packet in software, as a NIC would: once inside IP-in-IP
 * no later hop knows where the inner checksum lives (virtio has no IPIP offload here).
 */
export function finishChecksum(frame: usize, vnetHdr: usize, end: usize): void {
  const start = frame + <usize>load<u16>(vnetHdr + VNET_CSUM_START);
  const field = start + <usize>load<u16>(vnetHdr + VNET_CSUM_OFFSET);
  if (start >= end || field + 2 > end) return;
  // the field holds the pseudo-header sum: summing over it folds the pseudo-header in
  store<u16>(field, <u16>csumFinish(csumSum(start, <u32>(end - start), 0)));
  store<u8>(vnetHdr + VNET_FLAGS, load<u8>(vnetHdr + VNET_FLAGS) & ~VNET_F_NEEDS_CSUM);
}

/**
 * tunIn encapsulates the packet at `ip` (frame starting at `frame`) for real server `r` leaving
 * through device `dev`, and returns the new frame's start, which lies in the headroom (always
 * ≥ HEADER_BASE). Below TUN_FAILED_BELOW the result is a DROP_* reason or TUN_FRAG_NEEDED.
 */
export function tunIn(frame: usize, ip: usize, l2: bool, vnetHdr: usize, r: usize, dev: usize,
  devMac: usize, tunSrc: u32): u32 {
  const tot = bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  if (vnetHdr != 0 && load<u8>(vnetHdr + VNET_GSO_TYPE) != VNET_GSO_NONE) return DROP_GSO;
  const mtu = <u32>load<u16>(dev + DEV_MTU);
  if (tot + IP_HLEN > mtu) {
    return (load<u8>(ip + IP_FRAG) & IP_DF_BYTE) ? TUN_FRAG_NEEDED : DROP_TOO_BIG;
  }
  if (vnetHdr != 0 && (load<u8>(vnetHdr + VNET_FLAGS) & VNET_F_NEEDS_CSUM)) {
    finishChecksum(frame, vnetHdr, ip + tot);
  }
  const outer = ip - IP_HLEN;
  const newFrame = l2 ? outer - ETH_HLEN : outer;
  if (vnetHdr != 0) {
    // the virtio header travels with the frame start
    memory.copy(newFrame - VNET_HDR_LEN, vnetHdr, VNET_HDR_LEN);
  }
  if (l2) {
    setMacs(newFrame, r + RS_MAC, devMac);
    store<u16>(newFrame + ETH_TYPE, ETH_P_IP_RAW);
  }
  store<u8>(outer + IP_VIHL, IP_VIHL_PLAIN);
  store<u8>(outer + IP_TOS, load<u8>(ip + IP_TOS));
  store<u16>(outer + IP_TOT_LEN, <u16>bswap16(tot + IP_HLEN));
  // RFC 2003 §3.1: the outer ID and DF follow the inner packet's
  store<u16>(outer + IP_ID, load<u16>(ip + IP_ID));
  store<u16>(outer + IP_FRAG, load<u16>(ip + IP_FRAG) & IP_DF_RAW);
  store<u8>(outer + IP_TTL, load<u8>(ip + IP_TTL));
  store<u8>(outer + IP_PROTO, IPPROTO_IPIP);
  store<u16>(outer + IP_CSUM, 0);
  store<u32>(outer + IP_SRC, tunSrc);
  store<u32>(outer + IP_DST, load<u32>(r + RS_RIP));
  store<u16>(outer + IP_CSUM, <u16>ipHeaderChecksum(outer, IP_HLEN));
  return <u32>newFrame;
}
