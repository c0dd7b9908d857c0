// fnat6.ts — Full-NAT with IPv6 on both sides, the counterpart of fnat.ts. In: CIP:cport ->
// LIP:lport and VIP:vport -> RIP:rport; out: RIP:rport -> VIP:vport and LIP:lport -> CIP:cport.
// (IPv6 clients in front of IPv4 servers are nat64.ts.)
import { CONN6_CIP, CONN6_LIP, CONN6_RIP, CONN6_VIP, CONN_CPORT, CONN_LPORT, CONN_RPORT, CONN_VPORT } from '../abi';
import { rewriteTuple6 } from './nat6';

export function fnatIn6(ip: usize, l4: usize, proto: u32, c: usize, x: usize, partial: bool): void {
  const ports = <u32>load<u16>(c + CONN_LPORT) | (<u32>load<u16>(c + CONN_RPORT) << 16);
  rewriteTuple6(ip, l4, proto, x + CONN6_LIP, x + CONN6_RIP, ports, partial);
}

export function fnatOut6(ip: usize, l4: usize, proto: u32, c: usize, x: usize, partial: bool): void {
  const ports = <u32>load<u16>(c + CONN_VPORT) | (<u32>load<u16>(c + CONN_CPORT) << 16);
  rewriteTuple6(ip, l4, proto, x + CONN6_VIP, x + CONN6_CIP, ports, partial);
}
