// rewrite.ts — the header surgery every mode shares: replace addresses and ports of an IPv4
// TCP/UDP packet with incremental checksums (RFC 1624), and set Ethernet addresses.
import { IPPROTO_TCP, IPPROTO_UDP } from '../abi';
import { csumApply, csumApplyPartial, csumDelta32 } from '../csum';
import { copy6 } from '../mem';
import { ETH_SRC, IP_CSUM, IP_DST, IP_SRC, TCP_CSUM, UDP_CSUM } from '../wire';

/**
 * rewriteTuple sets src:sport -> dst:dport (wire order; ports as raw u16) and updates the IP
 * and L4 checksums. `partial`: the L4 field holds a pseudo-header sum (virtio NEEDS_CSUM), which
 * takes the address change but not the port change. A zero UDP checksum means "none" and stays
 * zero (RFC 768); a computed zero is sent as 0xffff.
 */
// @ts-ignore: decorator
@inline export function rewriteTuple(ip: usize, l4: usize, proto: u32, src: u32, dst: u32, ports: u32, partial: bool): void {
  const addrDelta = csumDelta32(load<u32>(ip + IP_SRC), src) + csumDelta32(load<u32>(ip + IP_DST), dst);
  const portDelta = csumDelta32(load<u32>(l4), ports);
  store<u32>(ip + IP_SRC, src);
  store<u32>(ip + IP_DST, dst);
  store<u16>(ip + IP_CSUM, <u16>csumApply(<u32>load<u16>(ip + IP_CSUM), addrDelta));
  store<u32>(l4, ports);
  if (proto == IPPROTO_TCP) {
    const p = l4 + TCP_CSUM;
    const c = <u32>load<u16>(p);
    store<u16>(p, <u16>(partial ? csumApplyPartial(c, addrDelta) : csumApply(c, addrDelta + portDelta)));
  } else if (proto == IPPROTO_UDP) {
    const p = l4 + UDP_CSUM;
    const c = <u32>load<u16>(p);
    if (partial) {
      store<u16>(p, <u16>csumApplyPartial(c, addrDelta));
    } else if (c != 0) {
      const n = csumApply(c, addrDelta + portDelta);
      store<u16>(p, <u16>(n == 0 ? 0xffff : n));
    }
  }
}

/** setMacs writes the destination and source MAC of an Ethernet frame at `eth`. */
// @ts-ignore: decorator
@inline export function setMacs(eth: usize, dstMac: usize, srcMac: usize): void {
  copy6(eth, dstMac);
  copy6(eth + ETH_SRC, srcMac);
}
