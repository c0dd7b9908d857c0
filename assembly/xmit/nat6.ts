// nat6.ts — NAT66, the IPv6 counterpart of nat.ts (DNAT VIP:vport -> RIP:rport in, SNAT back
// out), and the header surgery it shares with fnat6.ts: replace addresses and ports of an IPv6
// TCP/UDP packet with an incremental update of the L4 checksum (RFC 1624; IPv6 has no header
// checksum, the pseudo-header of RFC 8200 §8.1 covers the addresses).
import { CONN6_CIP, CONN6_RIP, CONN6_VIP, CONN_CPORT, CONN_RPORT, CONN_VPORT, IPPROTO_TCP, IPPROTO_UDP } from '../abi';
import { csumApply, csumApplyPartial, csumDelta128, csumDelta32 } from '../csum';
import { copy16 } from '../mem';
import { IP6_DST, IP6_SRC, TCP_CSUM, UDP_CSUM } from '../wire';

/**
 * rewriteTuple6 sets the source and destination (16-byte addresses at `src` and `dst`) and the
 * ports (sport | dport << 16, raw) of the packet at `ip`, transport header at `l4`. `partial`:
 * the L4 field holds a pseudo-header sum (virtio NEEDS_CSUM): it takes the address change only.
 * A computed zero UDP checksum is sent as 0xffff (RFC 8200 §8.1: zero is not allowed).
 */
export function rewriteTuple6(ip: usize, l4: usize, proto: u32, src: usize, dst: usize, ports: u32, partial: bool): void {
  const addrDelta = csumDelta128(ip + IP6_SRC, src) + csumDelta128(ip + IP6_DST, dst);
  const portDelta = csumDelta32(load<u32>(l4), ports);
  copy16(ip + IP6_SRC, src);
  copy16(ip + IP6_DST, dst);
  store<u32>(l4, ports);
  applyL4(l4, proto, addrDelta, portDelta, partial);
}

/**
 * natIn6: CIP:cport -> VIP:vport becomes CIP:cport -> RIP:rport (`x` = the record's CONN6).
 * Only the destination changes: the per-packet hit path of NAT66 skips the source's delta.
 */
export function natIn6(ip: usize, l4: usize, proto: u32, c: usize, x: usize, partial: bool): void {
  const rip = x + CONN6_RIP;
  const addrDelta = csumDelta128(ip + IP6_DST, rip);
  const dport = <u32>load<u16>(c + CONN_RPORT);
  const portDelta = csumDelta32(<u32>load<u16>(l4 + 2), dport);
  copy16(ip + IP6_DST, rip);
  store<u16>(l4 + 2, <u16>dport);
  applyL4(l4, proto, addrDelta, portDelta, partial);
}

/** applyL4 applies the address and port deltas to the transport checksum (see rewriteTuple6) */
// @ts-ignore: decorator
@inline function applyL4(l4: usize, proto: u32, addrDelta: u32, portDelta: u32, partial: bool): void {
  let p: usize = 0;
  if (proto == IPPROTO_TCP) p = l4 + TCP_CSUM;
  else if (proto == IPPROTO_UDP) p = l4 + UDP_CSUM;
  else return;
  const c = <u32>load<u16>(p);
  if (partial) {
    store<u16>(p, <u16>csumApplyPartial(c, addrDelta));
  } else {
    const n = csumApply(c, addrDelta + portDelta);
    store<u16>(p, <u16>(n == 0 && proto == IPPROTO_UDP ? 0xffff : n));
  }
}

/** natOut6: RIP:rport -> CIP:cport becomes VIP:vport -> CIP:cport */
export function natOut6(ip: usize, l4: usize, proto: u32, c: usize, x: usize, partial: bool): void {
  const ports = <u32>load<u16>(c + CONN_VPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16);
  rewriteTuple6(ip, l4, proto, x + CONN6_VIP, x + CONN6_CIP, ports, partial);
}
