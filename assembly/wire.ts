// wire.ts — byte offsets of the header fields the data path reads and writes (RFC 791 IPv4,
// RFC 8200 IPv6, RFC 9293 TCP, RFC 768 UDP, RFC 792 ICMP, RFC 4443 ICMPv6, IEEE 802.3 Ethernet). These describe packets, not
// the host's memory, so they live here rather than in abi.ts. Multi-byte fields are big-endian
// on the wire; the code loads them raw and swaps only values it compares as numbers.

// ── Ethernet ─────────────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const ETH_DST: u32 = 0;
// @ts-ignore: decorator
@inline export const ETH_SRC: u32 = 6;
// @ts-ignore: decorator
@inline export const ETH_TYPE: u32 = 12;
/** EtherType 0x0800 as a raw little-endian u16 load */
// @ts-ignore: decorator
@inline export const ETH_P_IP_RAW: u16 = 0x0008;
/** EtherType 0x0806 (ARP) as a raw little-endian u16 load */
// @ts-ignore: decorator
@inline export const ETH_P_ARP_RAW: u16 = 0x0608;
/** EtherType 0x86DD (IPv6) as a raw little-endian u16 load */
// @ts-ignore: decorator
@inline export const ETH_P_IPV6_RAW: u16 = 0xdd86;
/** the first two bytes of an IPv6 multicast MAC (33:33, RFC 2464 §7) as a raw u16 load */
// @ts-ignore: decorator
@inline export const ETH_MCAST6_RAW: u16 = 0x3333;
/**
 * 01:00:5e:00:00:12, the Ethernet group of VRRP's 224.0.0.18 (RFC 1112 §6.4): its first two
 * bytes as a raw little-endian u16 load, the other four as a raw u32 load
 */
// @ts-ignore: decorator
@inline export const VRRP_GROUP_MAC_HI: u32 = 0x0001;
// @ts-ignore: decorator
@inline export const VRRP_GROUP_MAC_LO: u32 = 0x1200005e;

// ── IPv4 ─────────────────────────────────────────────────────────────────────────────────────
// ╒══════════════════ IPv4 header (20 B without options) ═══════════════════╕
// │ +0 u8 version/IHL │ +1 u8 TOS │ +2 u16 total length │ +4 u16 ID        │
// │ +6 u16 flags/fragment offset │ +8 u8 TTL │ +9 u8 protocol │ +10 u16 csum│
// │ +12 source │ +16 destination                                          │
// └─────────────────────────────────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline export const IP_VIHL: u32 = 0;
// @ts-ignore: decorator
@inline export const IP_TOS: u32 = 1;
// @ts-ignore: decorator
@inline export const IP_TOT_LEN: u32 = 2;
// @ts-ignore: decorator
@inline export const IP_ID: u32 = 4;
// @ts-ignore: decorator
@inline export const IP_FRAG: u32 = 6;
// @ts-ignore: decorator
@inline export const IP_TTL: u32 = 8;
// @ts-ignore: decorator
@inline export const IP_PROTO: u32 = 9;
// @ts-ignore: decorator
@inline export const IP_CSUM: u32 = 10;
// @ts-ignore: decorator
@inline export const IP_SRC: u32 = 12;
// @ts-ignore: decorator
@inline export const IP_DST: u32 = 16;
// @ts-ignore: decorator
@inline export const IP_HLEN: u32 = 20;
/** the first version/IHL byte of a header without options */
// @ts-ignore: decorator
@inline export const IP_VIHL_PLAIN: u8 = 0x45;
/** DF in the byte at IP_FRAG (the flags are its top three bits) */
// @ts-ignore: decorator
@inline export const IP_DF_BYTE: u8 = 0x40;
/** DF as a raw u16 load of IP_FRAG */
// @ts-ignore: decorator
@inline export const IP_DF_RAW: u16 = 0x0040;
/** MF and the fragment offset, in the swapped (host-order) value of IP_FRAG */
// @ts-ignore: decorator
@inline export const IP_MF_OFFSET: u32 = 0x3fff;
/** the fragment offset alone, swapped */
// @ts-ignore: decorator
@inline export const IP_OFFSET_MASK: u32 = 0x1fff;

/** VRRP's IPv4 group 224.0.0.18 (RFC 5798 §5.1.1.2) as a raw little-endian u32 load */
// @ts-ignore: decorator
@inline export const VRRP_GROUP_ADDR: u32 = 0x120000e0;

// ── IPv6 ─────────────────────────────────────────────────────────────────────────────────────
// ╒══════════════════════ IPv6 header (40 B, RFC 8200 §3) ═══════════════════════╕
// │ +0 version(4) traffic class(8) flow label(20) │ +4 u16 payload length       │
// │ +6 u8 next header │ +7 u8 hop limit │ +8 source[16] │ +24 destination[16]   │
// └───────────────────────────────────────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline export const IP6_VTC: u32 = 0;
// @ts-ignore: decorator
@inline export const IP6_PLEN: u32 = 4;
// @ts-ignore: decorator
@inline export const IP6_NXT: u32 = 6;
// @ts-ignore: decorator
@inline export const IP6_HLIM: u32 = 7;
// @ts-ignore: decorator
@inline export const IP6_SRC: u32 = 8;
// @ts-ignore: decorator
@inline export const IP6_DST: u32 = 24;
// @ts-ignore: decorator
@inline export const IP6_HLEN: u32 = 40;
/** the minimum link MTU of IPv6 (RFC 8200 §5): ICMPv6 errors never exceed it */
// @ts-ignore: decorator
@inline export const IP6_MIN_MTU: u32 = 1280;
// extension headers the parser steps over (RFC 8200 §4), and the ones that end the walk
// @ts-ignore: decorator
@inline export const NH_HOPOPTS: u8 = 0;
// @ts-ignore: decorator
@inline export const NH_ROUTING: u8 = 43;
// @ts-ignore: decorator
@inline export const NH_FRAGMENT: u8 = 44;
// @ts-ignore: decorator
@inline export const NH_ESP: u8 = 50;
// @ts-ignore: decorator
@inline export const NH_AH: u8 = 51;
// @ts-ignore: decorator
@inline export const NH_NONE: u8 = 59;
// @ts-ignore: decorator
@inline export const NH_DSTOPTS: u8 = 60;
/** an extension header's own next-header and length bytes */
// @ts-ignore: decorator
@inline export const EXT_NXT: u32 = 0;
// @ts-ignore: decorator
@inline export const EXT_LEN: u32 = 1;
/** routing header: segments left (RFC 8200 §4.4) */
// @ts-ignore: decorator
@inline export const RH_SEGLEFT: u32 = 3;
/** fragment header (8 B, RFC 8200 §4.5): +2 u16 offset<<3 | M, +4 u32 identification */
// @ts-ignore: decorator
@inline export const FH_OFFSET: u32 = 2;
// @ts-ignore: decorator
@inline export const FH_ID: u32 = 4;
// @ts-ignore: decorator
@inline export const FH_LEN: u32 = 8;
/** offset (in 8-byte units, already shifted) and M, in the swapped value of FH_OFFSET */
// @ts-ignore: decorator
@inline export const FH_OFFSET_MASK: u32 = 0xfff8;
// @ts-ignore: decorator
@inline export const FH_MORE: u32 = 1;
/** at most this many extension headers before the transport header (more: a counted drop) */
// @ts-ignore: decorator
@inline export const EXT_MAX: u32 = 8;

// ── ICMPv6 (RFC 4443; neighbour discovery RFC 4861) ─────────────────────────────────────────
// the header is ICMP's: type, code, checksum, a 32-bit word (the MTU of a Packet Too Big)
// @ts-ignore: decorator
@inline export const ICMP6_DEST_UNREACH: u8 = 1;
// @ts-ignore: decorator
@inline export const ICMP6_PACKET_TOO_BIG: u8 = 2;
// @ts-ignore: decorator
@inline export const ICMP6_TIME_EXCEEDED: u8 = 3;
// @ts-ignore: decorator
@inline export const ICMP6_PARAM_PROB: u8 = 4;
/** types below this are errors (RFC 4443 §2.1) */
// @ts-ignore: decorator
@inline export const ICMP6_INFO_MIN: u8 = 128;
// @ts-ignore: decorator
@inline export const ICMP6_ECHO_REQUEST: u8 = 128;
// @ts-ignore: decorator
@inline export const ICMP6_ECHO_REPLY: u8 = 129;
/** the MTU of a Packet Too Big (all 32 bits) */
// @ts-ignore: decorator
@inline export const ICMP6_MTU: u32 = 4;

// ── TCP ──────────────────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const TCP_SPORT: u32 = 0;
// @ts-ignore: decorator
@inline export const TCP_DPORT: u32 = 2;
// @ts-ignore: decorator
@inline export const TCP_SEQ: u32 = 4;
// @ts-ignore: decorator
@inline export const TCP_ACK: u32 = 8;
/** data offset in the top four bits, in 32-bit words */
// @ts-ignore: decorator
@inline export const TCP_DOFF: u32 = 12;
// @ts-ignore: decorator
@inline export const TCP_FLAGS: u32 = 13;
// @ts-ignore: decorator
@inline export const TCP_WINDOW: u32 = 14;
// @ts-ignore: decorator
@inline export const TCP_CSUM: u32 = 16;
// @ts-ignore: decorator
@inline export const TCP_URG: u32 = 18;
// @ts-ignore: decorator
@inline export const TCP_HLEN: u32 = 20;
// TCP options (RFC 9293 §3.1, RFC 2018 SACK, RFC 7323 timestamps)
// @ts-ignore: decorator
@inline export const TCPOPT_EOL: u8 = 0;
// @ts-ignore: decorator
@inline export const TCPOPT_NOP: u8 = 1;
// @ts-ignore: decorator
@inline export const TCPOPT_MSS: u8 = 2;
// @ts-ignore: decorator
@inline export const TCPOPT_WSCALE: u8 = 3;
// @ts-ignore: decorator
@inline export const TCPOPT_SACK_PERM: u8 = 4;
// @ts-ignore: decorator
@inline export const TCPOPT_SACK: u8 = 5;
// @ts-ignore: decorator
@inline export const TCPOPT_TIMESTAMP: u8 = 8;
/** TOA, "TCP option address" (Alibaba LVS, DPVS kmod/toa): kind 254, length 8, port, IPv4 */
// @ts-ignore: decorator
@inline export const TCPOPT_TOA: u8 = 254;
// @ts-ignore: decorator
@inline export const TCPOLEN_TOA: u32 = 8;
/**
 * TOA for an IPv6 client (Full-NAT 6->6 and NAT64): the same kind 254, length 20: kind, length,
 * port, 16-byte address, as DPVS's kmod/toa decodes it (toa.h TCPOLEN_IP6_TOA, struct
 * toa_ip6_data; iqiyi/dpvs). Huawei's TOA module reads the same layout under kind 253.
 */
// @ts-ignore: decorator
@inline export const TCPOLEN_TOA6: u32 = 20;
// @ts-ignore: decorator
@inline export const TCPOLEN_MSS: u32 = 4;
/** the largest TCP header (data offset 15 words) */
// @ts-ignore: decorator
@inline export const TCP_MAX_HLEN: u32 = 60;
/** RFC 9293 §3.7.1: the MSS a host assumes when the SYN carries none */
// @ts-ignore: decorator
@inline export const TCP_DEFAULT_MSS: u32 = 536;
// @ts-ignore: decorator
@inline export const TH_FIN: u8 = 0x01;
// @ts-ignore: decorator
@inline export const TH_SYN: u8 = 0x02;
// @ts-ignore: decorator
@inline export const TH_RST: u8 = 0x04;
// @ts-ignore: decorator
@inline export const TH_PSH: u8 = 0x08;
// @ts-ignore: decorator
@inline export const TH_ACK: u8 = 0x10;
// @ts-ignore: decorator
@inline export const TH_URG: u8 = 0x20;
/** ECN-Echo and Congestion Window Reduced (RFC 3168 §6.1.1: a SYN with both asks for ECN) */
// @ts-ignore: decorator
@inline export const TH_ECE: u8 = 0x40;
// @ts-ignore: decorator
@inline export const TH_CWR: u8 = 0x80;
// TCP option lengths (RFC 9293 §3.2, RFC 7323, RFC 2018; TCPOLEN_MSS above)
// @ts-ignore: decorator
@inline export const TCPOLEN_WSCALE: u32 = 3;
// @ts-ignore: decorator
@inline export const TCPOLEN_SACK_PERM: u32 = 2;
// @ts-ignore: decorator
@inline export const TCPOLEN_TIMESTAMP: u32 = 10;
/** the largest window shift RFC 7323 §2.3 allows */
// @ts-ignore: decorator
@inline export const TCP_MAX_WSCALE: u32 = 14;

// ── UDP ──────────────────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const UDP_SPORT: u32 = 0;
// @ts-ignore: decorator
@inline export const UDP_DPORT: u32 = 2;
// @ts-ignore: decorator
@inline export const UDP_LEN: u32 = 4;
// @ts-ignore: decorator
@inline export const UDP_CSUM: u32 = 6;
// @ts-ignore: decorator
@inline export const UDP_HLEN: u32 = 8;

// ── ICMP ─────────────────────────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export const ICMP_TYPE: u32 = 0;
// @ts-ignore: decorator
@inline export const ICMP_CODE: u32 = 1;
// @ts-ignore: decorator
@inline export const ICMP_CSUM: u32 = 2;
/** the unused word of an error; for "fragmentation needed" its low half is the next-hop MTU */
// @ts-ignore: decorator
@inline export const ICMP_UNUSED: u32 = 4;
// @ts-ignore: decorator
@inline export const ICMP_NEXT_MTU: u32 = 6;
// @ts-ignore: decorator
@inline export const ICMP_HLEN: u32 = 8;
/** an error quotes the offending IP header and at least 64 bits of its data (RFC 792): the ports */
// @ts-ignore: decorator
@inline export const ICMP_QUOTE_L4: u32 = 8;
// RFC 792 types the data path meets
// @ts-ignore: decorator
@inline export const ICMP_DEST_UNREACH: u8 = 3;
// @ts-ignore: decorator
@inline export const ICMP_SOURCE_QUENCH: u8 = 4;
// @ts-ignore: decorator
@inline export const ICMP_TIME_EXCEEDED: u8 = 11;
// @ts-ignore: decorator
@inline export const ICMP_PARAMETER_PROB: u8 = 12;
/** code of ICMP_DEST_UNREACH: fragmentation needed and DF set (RFC 1191) */
// @ts-ignore: decorator
@inline export const ICMP_FRAG_NEEDED: u8 = 4;
