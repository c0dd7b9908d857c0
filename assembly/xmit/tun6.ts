// tun6.ts — LVS-TUN for IPv6, the counterpart of tun.ts: the packet CIP -> VIP travels unchanged
// inside an outer IPv6 header DIP -> RIP, next header 41 (IPv6-in-IPv6, RFC 2473). The outer
// header goes into the slot's headroom; the payload never moves. IPv6 routers never fragment,
// so a packet that no longer fits the device's MTU is answered with ICMPv6 Packet Too Big.
import { DEV_MTU, DROP_GSO, ETH_HLEN, IPPROTO_IPV6, RS6_RIP, RS_MAC, VNET_FLAGS, VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TYPE, VNET_HDR_LEN } from '../abi';
import { bswap16, copy16 } from '../mem';
import { ETH_P_IPV6_RAW, ETH_TYPE, IP6_DST, IP6_HLEN, IP6_HLIM, IP6_NXT, IP6_PLEN, IP6_SRC, IP6_VTC } from '../wire';
import { setMacs } from './rewrite';
import { TUN_FRAG_NEEDED, finishChecksum } from './tun';

/**
 * tunIn6 encapsulates the IPv6 packet at `ip` (frame at `frame`) for real server `r` (its RS6
 * record at `r6`) leaving through device `dev`, from the 16-byte source at `tunSrc`; returns the
 * new frame's start (in the headroom), or a DROP_* reason, or TUN_FRAG_NEEDED (send PTB).
 */
export function tunIn6(frame: usize, ip: usize, l2: bool, vnetHdr: usize, r: usize, r6: usize, dev: usize,
  devMac: usize, tunSrc: usize): u32 {
  const tot = IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN));
  if (vnetHdr != 0 && load<u8>(vnetHdr + VNET_GSO_TYPE) != VNET_GSO_NONE) return DROP_GSO;
  if (tot + IP6_HLEN > <u32>load<u16>(dev + DEV_MTU)) return TUN_FRAG_NEEDED;
  if (vnetHdr != 0 && (load<u8>(vnetHdr + VNET_FLAGS) & VNET_F_NEEDS_CSUM)) finishChecksum(frame, vnetHdr, ip + tot);
  const outer = ip - IP6_HLEN;
  const newFrame = l2 ? outer - ETH_HLEN : outer;
  if (vnetHdr != 0) memory.copy(newFrame - VNET_HDR_LEN, vnetHdr, VNET_HDR_LEN);
  if (l2) {
    setMacs(newFrame, r + RS_MAC, devMac);
    store<u16>(newFrame + ETH_TYPE, ETH_P_IPV6_RAW);
  }
  // RFC 2473 §5: traffic class and flow label of the inner packet; its hop limit, as tun.ts keeps the TTL
  store<u32>(outer + IP6_VTC, load<u32>(ip + IP6_VTC));
  store<u16>(outer + IP6_PLEN, <u16>bswap16(tot));
  store<u8>(outer + IP6_NXT, IPPROTO_IPV6);
  store<u8>(outer + IP6_HLIM, load<u8>(ip + IP6_HLIM));
  copy16(outer + IP6_SRC, tunSrc);
  copy16(outer + IP6_DST, r6 + RS6_RIP);
  return <u32>newFrame;
}
