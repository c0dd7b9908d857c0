// synproxy.ts — the SYN proxy of NAT and Full-NAT services (DPVS ip_vs_synproxy.c in spirit): the
// director answers a client's SYN itself with a SYN-ACK whose sequence number is a SYN cookie
// (syncookie.ts), so a spoofed SYN costs one frame and no session. Only a client that returns
// the cookie in its ACK gets a session and a real server, and the director then opens the
// connection to that server with the client's own ISN and options.
//
//   client                director                              real server
//   SYN  ─────────────────► SYN-ACK, cookie, window 0 (in place)
//   ACK (cookie + 1) ─────► valid: session, state SYN_SENT ─────► SYN (client's ISN, MSS, SACK, TS, WS)
//                           ◄───────────────────────────────────  SYN-ACK (server ISN)
//   ◄── ACK, window opens (in place)     ACK (emit slot) ───────► the server's handshake completes
//   data ────────────────► seq/ack, timestamps, SACK, windows translated (seqadj) ──► data
//
// The window of 0 in our SYN-ACK keeps the client's data back until the server answered (RFC 9293
// §3.8.6.1 zero window: the client waits, or probes after its retransmission timeout): the core
// has nowhere to keep a segment between batches, so nothing may arrive that it cannot forward.
// Every frame here is built in the slot it arrived in, with fresh checksums and no virtio
// offload flags. The handshake's own frames are never larger than the frames they replace by
// more than the 40 bytes of options, and every slot has that much room after a minimal frame.
//
// Both families take the same steps through the same functions (`v6`): the addresses an IPv4
// step keeps as u32 values are, for IPv6, the addresses of the 16-byte addresses (in the packet or
// the session's CONN6 record), and only the IP header writer, the pseudo-header and the cookie's
// hash and MSS table (syncookie.ts) look at the family. The IPv6 frames the proxy writes have a
// bare 40-byte header: extension headers of the segment they replace are not kept. A client of
// an IPv6 VIP with an IPv4 server (NAT64) is not proxied (the host refuses the configuration).
import {
  CONNF_POOL, CONNXF_SYNPROXY_PENDING, CONNXF_SYNPROXY_TS, CONNXF_SYNPROXY_WINDOW, CONNXF_SYNPROXY_WSCALE, CONNXF_SEQ,
  CONNXF_SYNPROXY, CONNXF_TS, CONNX_AUX, CONNX_FLAGS, CONNX_SEQ_IN, CONNX_SEQ_OUT, CONNX_TS, CONN_CDEV, CONN_CIP,
  CONN_CMAC, CONN_CPORT, CONN_FLAGS, CONN_LIP, CONN_LPORT, CONN_RIP, CONN_RPORT, CONN_RS, CONN_SVC, CONN_VIP, CONN_VPORT,
  DESC_LEN, DESC_OFF, DESC_OUT_DEV, DESC_REASON, DESC_VERDICT, DEV_MAC, DEV_SIZE, ETH_HLEN, HDR_DEV_BASE,
  HDR_SYNPROXY_OPTS, IPPROTO_TCP, RS_DEV, RS_MAC, SCR_L3, SCR_L4, SCR_TCPFLAGS, STAT_COOKIES_FAILED, STAT_COOKIES_OK,
  STAT_COOKIES_SENT, STAT_EMIT_FULL, STAT_PROXY_SENT, STAT_TOA_ADDED, SVCF_PROXY_V2, VERDICT_FORWARD, VNET_HDR_LEN,
  CONNXF_PROXY, CONNXF_TOA, CONN6_CIP, CONN6_LIP, CONN6_RIP, CONN6_VIP, HDR_CONN_COUNT, HDR_SYNPROXY_FILL, SVCF2_SYNPROXY,
  SVCF2_SYNPROXY_ON, SVC_FLAGS2,
} from './abi';
import { clientAddrFlags, clientAddrRoomOf, lowerMss, proxyHeaderLength, writeProxy, writeToa, writeToa6 } from './clientaddr';
import { csumAdd128, csumApply, csumDelta32, csumFinish, csumSum, ipHeaderChecksum, tcpChecksum } from './csum';
import { embryonicFull } from './embryonic';
import { EMIT_MAX, emitCommit, emitReserve } from './emit';
import { bswap16, copy6, hdr } from './mem';
import { connxAddress } from './seqadj';
import { connAddress, rsAddress } from './session';
import { conn6Address } from './session6';
import {
  COOKIE_BAD, DATA_LIMIT_NO_TS, DATA_LIMIT_TS, TS_OPT_ECN, TS_OPT_SACK, WSCALE_NONE, cookieCheck, cookieMake, mssIndex,
  mssOfIndex, tsEncode,
} from './syncookie';
import {
  OPT_HAS_SACK, OPT_HAS_WSCALE, optMss, optTs, optWscale, readOptions, writeOptions, writeTimestamps,
} from './tcp_opts';
import { count } from './stats';
import { setMacs } from './xmit/rewrite';
import {
  ETH_DST, ETH_P_IP_RAW, ETH_SRC, ETH_TYPE, IP_CSUM, IP_DF_RAW, IP_DST, IP_FRAG, IP_HLEN, IP_ID, IP_PROTO, IP_SRC,
  IP_TOS, IP_TOT_LEN, IP_TTL, IP_VIHL, IP_VIHL_PLAIN, ICMP_HLEN, TCP_ACK, TCP_CSUM, TCP_DEFAULT_MSS, TCP_DOFF, TCP_FLAGS,
  TCP_HLEN, TCP_MAX_WSCALE, TCP_SEQ, TCP_URG, TCP_WINDOW, TH_ACK, TH_CWR, TH_ECE, TH_RST, TH_SYN, TCPOLEN_TOA,
  ETH_P_IPV6_RAW, IP6_DST, IP6_HLEN, IP6_HLIM, IP6_NXT, IP6_PLEN, IP6_SRC, IP6_VTC, TCPOLEN_TOA6,
} from './wire';

/** TTL of the segments the director answers itself (Linux's default) */
// @ts-ignore: decorator
@inline const PROXY_TTL: u8 = 64;

/** swapMacs exchanges the destination and source MAC of the Ethernet frame at `eth`. */
// @ts-ignore: decorator
@inline function swapMacs(eth: usize): void {
  const d0 = load<u32>(eth + ETH_DST);
  const d1 = load<u16>(eth + ETH_DST + 4);
  copy6(eth + ETH_DST, eth + ETH_SRC);
  store<u32>(eth + ETH_SRC, d0);
  store<u16>(eth + ETH_SRC + 4, d1);
}

/** writeIp writes a fresh 20-byte IPv4 header (DF, ID 0, TOS 0) at `ip` for a TCP payload of `l4len` bytes. */
export function writeIp(ip: usize, src: u32, dst: u32, l4len: u32): void {
  store<u8>(ip + IP_VIHL, IP_VIHL_PLAIN);
  store<u8>(ip + IP_TOS, 0);
  store<u16>(ip + IP_TOT_LEN, <u16>bswap16(IP_HLEN + l4len));
  store<u16>(ip + IP_ID, 0);
  store<u16>(ip + IP_FRAG, IP_DF_RAW);
  store<u8>(ip + IP_TTL, PROXY_TTL);
  store<u8>(ip + IP_PROTO, IPPROTO_TCP);
  store<u16>(ip + IP_CSUM, 0);
  store<u32>(ip + IP_SRC, src);
  store<u32>(ip + IP_DST, dst);
  store<u16>(ip + IP_CSUM, <u16>ipHeaderChecksum(ip, IP_HLEN));
}

/** ipLen: the length of the bare IP header the proxy writes */
// @ts-ignore: decorator
@inline function ipLen(v6: bool): u32 {
  return v6 ? IP6_HLEN : IP_HLEN;
}

/** srcOf / dstOf: a packet's addresses as the steps keep them (IPv6: where they are) */
// @ts-ignore: decorator
@inline function srcOf(ip: usize, v6: bool): u32 {
  return v6 ? <u32>(ip + IP6_SRC) : load<u32>(ip + IP_SRC);
}

// @ts-ignore: decorator
@inline function dstOf(ip: usize, v6: bool): u32 {
  return v6 ? <u32>(ip + IP6_DST) : load<u32>(ip + IP_DST);
}

/**
 * writeL3 writes the bare IP header of a TCP payload of `l4len` bytes at `ip`: writeIp's, or for
 * IPv6 (version 6, no traffic class or flow label, hop limit 64) from the 16-byte addresses at
 * `src` and `dst`, which may be the header's own fields (an answer swaps them in place).
 */
function writeL3(ip: usize, v6: bool, src: u32, dst: u32, l4len: u32): void {
  if (!v6) {
    writeIp(ip, src, dst, l4len);
    return;
  }
  const s0 = load<u64>(src);
  const s1 = load<u64>(src, 8);
  const d0 = load<u64>(dst);
  const d1 = load<u64>(dst, 8);
  store<u32>(ip + IP6_VTC, 0x60);
  store<u16>(ip + IP6_PLEN, <u16>bswap16(l4len));
  store<u8>(ip + IP6_NXT, IPPROTO_TCP);
  store<u8>(ip + IP6_HLIM, PROXY_TTL);
  store<u64>(ip + IP6_SRC, s0);
  store<u64>(ip + IP6_SRC, s1, 8);
  store<u64>(ip + IP6_DST, d0);
  store<u64>(ip + IP6_DST, d1, 8);
}

/**
 * writeTcp writes a TCP header at `l4` (ports raw: sport | dport << 16, as loaded) with `optLen`
 * bytes of options and `payload` bytes of data already in place after it, and its checksum over
 * the pseudo-header of the IP header at `ip`, which is written already.
 */
export function writeTcp(l4: usize, ip: usize, v6: bool, ports: u32, seq: u32, ack: u32, flags: u8, window: u32, optLen: u32,
  payload: u32 = 0): void {
  store<u32>(l4, ports);
  store<u32>(l4 + TCP_SEQ, bswap<u32>(seq));
  store<u32>(l4 + TCP_ACK, bswap<u32>(ack));
  store<u8>(l4 + TCP_DOFF, <u8>(((TCP_HLEN + optLen) >> 2) << 4));
  store<u8>(l4 + TCP_FLAGS, flags);
  store<u16>(l4 + TCP_WINDOW, <u16>bswap16(window));
  store<u16>(l4 + TCP_CSUM, 0);
  store<u16>(l4 + TCP_URG, 0);
  const len = TCP_HLEN + optLen + payload;
  let sum: u32;
  if (v6) {
    // RFC 8200 §8.1: a 32-bit length and the next header, summing as IPv4's 16-bit fields do
    const tail = (<u64>IPPROTO_TCP << 8) | (<u64>bswap16(len) << 16);
    sum = csumFinish(csumSum(l4, len, <u64>csumAdd128(ip + IP6_SRC) + <u64>csumAdd128(ip + IP6_DST) + tail));
  } else {
    sum = tcpChecksum(load<u32>(ip + IP_SRC), load<u32>(ip + IP_DST), l4, len);
  }
  store<u16>(l4 + TCP_CSUM, <u16>sum);
}

/**
 * answerSyn turns the client's SYN in slot `desc` to service `svc` into our SYN-ACK with a
 * cookie and sends it back out of the device it came from. No session is created. MSS,
 * SACK-permitted and window scale of the SYN go into the cookie (no timestamps) or our timestamp
 * value (timestamps). The MSS we announce leaves room for what TOA and the PROXY header add to
 * the client's segments (clientaddr.ts does the same to a server's SYN-ACK when it sees one).
 */
export function answerSyn(desc: usize, scr: usize, svc: u32, l2: bool, vnet: bool, inDev: u32, now: u32, v6: bool = false): void {
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const cip = srcOf(ip, v6);
  const vip = dstOf(ip, v6);
  const ports = load<u32>(l4);
  const isn = bswap<u32>(load<u32>(l4 + TCP_SEQ));
  const tf = load<u8>(scr + SCR_TCPFLAGS);
  // everything the answer needs is read before the header is overwritten
  const sum = readOptions(l4);
  const tsOpt = optTs(l4, sum);
  const ts = tsOpt != 0;
  const clientTsval = ts ? bswap<u32>(load<u32>(tsOpt + 2)) : 0;
  const sack = (sum & OPT_HAS_SACK) != 0;
  const wsOk = (sum & OPT_HAS_WSCALE) != 0;
  const wscode = wsOk ? optWscale(sum) : WSCALE_NONE;
  const mss = optMss(sum) != 0 ? optMss(sum) : TCP_DEFAULT_MSS;
  const mssind = mssIndex(mss, v6);
  // Linux cookie_init_timestamp: window scale | SACK << 4 | ECN << 5 in the timestamp value
  const ecn = (tf & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR);
  const data = ts ? mssind : mssind | (sack ? 4 : 0) | (wscode << 3);
  const cookie = cookieMake(cip, vip, ports, isn, data, v6);
  const tsval = ts ? tsEncode(now, wscode | (sack ? TS_OPT_SACK : 0) | (ecn ? TS_OPT_ECN : 0)) : 0;
  const ours = hdr(HDR_SYNPROXY_OPTS);
  const caf = clientAddrFlags(svc);
  // the configured MSS is IPv4's: an IPv6 header takes 20 bytes more of the same MTU
  const baseMss = v6 ? (ours & 0xffff) - (IP6_HLEN - IP_HLEN) : ours & 0xffff;
  const ourMss = caf != 0 ? lowerMss(baseMss, clientAddrRoomOf(cip, vip, ports & 0xffff, ports >>> 16, caf, v6)) : baseMss;

  // the SYN was addressed to our MAC: answer from it to where the SYN came from
  if (l2) swapMacs(frame);
  const nl4 = ip + ipLen(v6);
  const optLen = writeOptions(nl4 + TCP_HLEN, ourMss, sack, ts, tsval, clientTsval,
    wsOk ? <i32>((ours >>> 16) & 0xf) : -1);
  writeL3(ip, v6, vip, cip, TCP_HLEN + optLen);
  // ECN is not offered (no ECE): the director cannot know yet whether the real server agrees
  writeTcp(nl4, ip, v6, rotr<u32>(ports, 16), cookie, isn + 1, TH_SYN | TH_ACK, 0, optLen);
  if (vnet) memory.fill(frame - VNET_HDR_LEN, 0, VNET_HDR_LEN);
  store<u32>(desc + DESC_LEN, (l2 ? ETH_HLEN : 0) + ipLen(v6) + TCP_HLEN + optLen);
  store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
  store<u8>(desc + DESC_VERDICT, VERDICT_FORWARD);
  store<u8>(desc + DESC_REASON, 0);
  count(STAT_COOKIES_SENT, 1);
}

// ── step 2: the client's ACK ─────────────────────────────────────────────────────────────────
// ╒════════════ handshake info from a verified cookie (u32) ═════════════╕
// │ 0..1 MSS index │ 2 SACK-permitted │ 3..6 window shift (15: none)     │
// │ 8 timestamps │ 9 the ACK was a window probe (its seq is the ISN)     │
// └──────────────────────────────────────────────────────────────────────┘
// @ts-ignore: decorator
@inline const INFO_SACK: u32 = 4;
// @ts-ignore: decorator
@inline const INFO_TS: u32 = 0x100;
// @ts-ignore: decorator
@inline const INFO_PROBE: u32 = 0x200;

/**
 * checkCookieAck verifies the sessionless pure ACK in slot `scr` as the third segment of a
 * handshake we answered: its acknowledgement minus 1 must be a cookie for its tuple and ISN.
 * Returns the handshake info (above), or COOKIE_BAD; counts either outcome.
 */
export function checkCookieAck(scr: usize, v6: bool = false): u32 {
  const info = cookieInfo(scr, v6);
  count(info == COOKIE_BAD ? STAT_COOKIES_FAILED : STAT_COOKIES_OK, 1);
  return info;
}

/** payloadOf: the bytes of TCP payload of the segment parsed into `scr` */
export function payloadOf(scr: usize, v6: bool = false): u32 {
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const l3len = v6 ? IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN)) : bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  return <u32>(ip + l3len - l4) - ((<u32>load<u8>(l4 + TCP_DOFF) >> 4) << 2);
}

/** cookieInfo is checkCookieAck without counting: a look at whether a pure ACK carries our cookie */
export function cookieInfo(scr: usize, v6: bool = false): u32 {
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const sum = readOptions(l4);
  const tsOpt = optTs(l4, sum);
  const ts = tsOpt != 0;
  const cookie = bswap<u32>(load<u32>(l4 + TCP_ACK)) - 1;
  const seq = bswap<u32>(load<u32>(l4 + TCP_SEQ));
  const saddr = srcOf(ip, v6);
  const daddr = dstOf(ip, v6);
  const limit = ts ? DATA_LIMIT_TS : DATA_LIMIT_NO_TS;
  let data = cookieCheck(cookie, saddr, daddr, load<u32>(l4), seq - 1, limit, v6);
  let probe: u32 = 0;
  // the client's third segment was lost: it believes the connection open and, facing our zero
  // window, sends window probes, which carry the sequence number before its next one: its ISN
  // (Linux tcp_xmit_probe_skb sends snd_una - 1). Accept them, or the client would probe forever.
  if (data == COOKIE_BAD && payloadOf(scr, v6) == 0) {
    data = cookieCheck(cookie, saddr, daddr, load<u32>(l4), seq, limit, v6);
    probe = INFO_PROBE;
  }
  let info = COOKIE_BAD;
  if (data != COOKIE_BAD) {
    if (ts) {
      // cookie_timestamp_decode: the options came back in the low bits of the echoed value
      const opts = bswap<u32>(load<u32>(tsOpt + 6));
      info = data | ((opts & TS_OPT_SACK) != 0 ? INFO_SACK : 0) | ((opts & WSCALE_NONE) << 3) | INFO_TS;
    } else {
      info = data;
    }
    info |= probe;
    // RFC 7323 §2.3: no shift above 14 was ever put there; anything else is a forgery
    const ws = (info >> 3) & 0xf;
    if (ws != WSCALE_NONE && ws > TCP_MAX_WSCALE) info = COOKIE_BAD;
  }
  return info;
}

/** windowCode packs a 16-bit window into 8 bits (4-bit exponent, 4-bit mantissa), rounding down */
// @ts-ignore: decorator
@inline function windowCode(w: u32): u32 {
  if (w < 16) return w;
  const e = 28 - clz<u32>(w);
  return (e << 4) | (w >> e);
}

// @ts-ignore: decorator
@inline function windowOfCode(c: u32): u32 {
  return (c & 0xf) << (c >> 4);
}

/** the extension flags that are the SYN proxy's own (openServer writes them all) */
// @ts-ignore: decorator
@inline const PROXY_OWN_FLAGS: u16 = CONNXF_SYNPROXY | CONNXF_SYNPROXY_PENDING | CONNXF_SYNPROXY_WSCALE | CONNXF_SYNPROXY_TS |
  CONNXF_SYNPROXY_WINDOW;

/**
 * openServer turns the verified ACK in slot `desc` into the SYN that opens session `rec` to its
 * real server: the client's ISN and window, the MSS of the cookie, and the SACK-permitted,
 * timestamp and window-scale options the client sent. Its addresses stay CIP -> VIP; forward()
 * rewrites them as for any first packet. The session's extension record keeps what the real
 * server's answer will need. It also sends that SYN again, from a client segment that verified
 * as the handshake's ACK once more while the server has not answered (proxyHandshake): what the
 * PROXY protocol and TOA set up at the first SYN (their flags, the header's length in SEQ_IN)
 * then stays; at the first SYN the record is fresh, all zero.
 */
export function openServer(desc: usize, scr: usize, rec: u32, info: u32, l2: bool, vnet: bool, v6: bool = false): void {
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const cip = srcOf(ip, v6);
  const vip = dstOf(ip, v6);
  const ports = load<u32>(l4);
  const seq = bswap<u32>(load<u32>(l4 + TCP_SEQ));
  const cookie = bswap<u32>(load<u32>(l4 + TCP_ACK)) - 1;
  const window = bswap16(<u32>load<u16>(l4 + TCP_WINDOW));
  const ts = (info & INFO_TS) != 0;
  const tsOpt = ts ? optTs(l4, readOptions(l4)) : 0;
  const clientTsval = tsOpt != 0 ? bswap<u32>(load<u32>(tsOpt + 2)) : 0;
  const ourTsval = tsOpt != 0 ? bswap<u32>(load<u32>(tsOpt + 6)) : 0;
  const ws = (info >> 3) & 0xf;
  const wsOk = ws != WSCALE_NONE;
  const ours = (hdr(HDR_SYNPROXY_OPTS) >>> 16) & 0xf;

  const x = connxAddress(rec);
  store<u32>(x + CONNX_SEQ_OUT, cookie);
  store<u32>(x + CONNX_TS, ourTsval);
  store<u16>(x + CONNX_FLAGS, (load<u16>(x + CONNX_FLAGS) & ~PROXY_OWN_FLAGS) | CONNXF_SYNPROXY | CONNXF_SYNPROXY_PENDING |
    (wsOk ? CONNXF_SYNPROXY_WSCALE : 0) | (tsOpt != 0 ? CONNXF_SYNPROXY_TS : 0));
  store<u16>(x + CONNX_AUX, <u16>((wsOk ? ws : 0) | (wsOk ? ours << 4 : 0) | (windowCode(window) << 8)));

  // the window of a SYN is never scaled (RFC 7323 §2.2); the ACK's was, by the client's shift
  let synWindow = wsOk ? window << ws : window;
  if (synWindow > 0xffff) synWindow = 0xffff;
  const nl4 = ip + ipLen(v6);
  const optLen = writeOptions(nl4 + TCP_HLEN, mssOfIndex(info & 3, v6), (info & INFO_SACK) != 0, tsOpt != 0, clientTsval, 0,
    wsOk ? <i32>ws : -1);
  writeL3(ip, v6, cip, vip, TCP_HLEN + optLen);
  writeTcp(nl4, ip, v6, ports, (info & INFO_PROBE) != 0 ? seq : seq - 1, 0, TH_SYN, synWindow, optLen);
  if (vnet) memory.fill(frame - VNET_HDR_LEN, 0, VNET_HDR_LEN);
  store<u32>(desc + DESC_LEN, (l2 ? ETH_HLEN : 0) + ipLen(v6) + TCP_HLEN + optLen);
  store<u32>(scr + SCR_L4, <u32>nl4);
  store<u8>(scr + SCR_TCPFLAGS, TH_SYN);
}

/**
 * resetClient answers the ACK in slot `desc` with a RST from the VIP (its sequence number is the
 * acknowledgement the client sent, RFC 9293 §3.10.7.1): the cookie was valid but no real server
 * could take the connection, and the client would otherwise wait on a zero window.
 */
export function resetClient(desc: usize, scr: usize, l2: bool, vnet: bool, inDev: u32, v6: bool = false): void {
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const cip = srcOf(ip, v6);
  const vip = dstOf(ip, v6);
  const ports = load<u32>(l4);
  const ack = bswap<u32>(load<u32>(l4 + TCP_ACK));
  if (l2) swapMacs(frame);
  const nl4 = ip + ipLen(v6);
  writeL3(ip, v6, vip, cip, TCP_HLEN);
  writeTcp(nl4, ip, v6, rotr<u32>(ports, 16), ack, 0, TH_RST, 0, 0);
  if (vnet) memory.fill(frame - VNET_HDR_LEN, 0, VNET_HDR_LEN);
  store<u32>(desc + DESC_LEN, (l2 ? ETH_HLEN : 0) + ipLen(v6) + TCP_HLEN);
  store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
  store<u8>(desc + DESC_VERDICT, VERDICT_FORWARD);
}

// ── step 3: the real server's SYN-ACK ────────────────────────────────────────────────────────
/** synproxyPending: session `rec` waits for its real server's SYN-ACK */
// @ts-ignore: decorator
@inline export function synproxyPending(rec: u32): bool {
  const x = connxAddress(rec);
  return x != 0 && (<u32>load<u16>(x + CONNX_FLAGS) & CONNXF_SYNPROXY_PENDING) != 0;
}

// @ts-ignore: decorator
@inline function devMacOf(dev: u32): usize {
  return <usize>(hdr(HDR_DEV_BASE) + dev * DEV_SIZE + DEV_MAC);
}

/** shiftUp: a window seen with shift `from` as a window field for shift `to`, rounded up, at most 0xffff */
// @ts-ignore: decorator
@inline function rescale(w: u32, from: u32, to: u32): u32 {
  let v = <u64>w << from;
  if (to != 0) v = (v + (<u64>1 << to) - 1) >> to;
  return v > 0xffff ? 0xffff : <u32>v;
}

/**
 * serverAnswered completes a proxied handshake with the real server's SYN-ACK in slot `desc`:
 * the sequence and timestamp deltas go into the extension record, the slot becomes the ACK that
 * opens the client's window (VIP -> client, out of the client's device) and an emit slot gets
 * the ACK that completes the real server's handshake. Returns false (nothing changed) if the
 * segment is not a SYN-ACK.
 */
export function serverAnswered(desc: usize, scr: usize, rec: u32, l2: bool, vnet: bool, v6: bool = false): bool {
  const c = connAddress(rec);
  const x = connxAddress(rec);
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  if ((load<u8>(l4 + TCP_FLAGS) & (TH_SYN | TH_ACK | TH_RST)) != (TH_SYN | TH_ACK)) return false;
  const serverIsn = bswap<u32>(load<u32>(l4 + TCP_SEQ));
  const ack = bswap<u32>(load<u32>(l4 + TCP_ACK));
  const serverWindow = bswap16(<u32>load<u16>(l4 + TCP_WINDOW));
  const sum = readOptions(l4);
  const tsOpt = optTs(l4, sum);
  const flags = <u32>load<u16>(x + CONNX_FLAGS);
  const aux = <u32>load<u16>(x + CONNX_AUX);
  const cookie = load<u32>(x + CONNX_SEQ_OUT);
  const ourTsval = load<u32>(x + CONNX_TS);
  const clientWs = (flags & CONNXF_SYNPROXY_WSCALE) != 0;
  const ts = (flags & CONNXF_SYNPROXY_TS) != 0 && tsOpt != 0;
  const serverTsval = ts ? bswap<u32>(load<u32>(tsOpt + 2)) : 0;
  const clientTsval = ts ? bswap<u32>(load<u32>(tsOpt + 6)) : 0;
  const wsClient = aux & 0xf;
  const wsOurs = (aux >> 4) & 0xf;
  const serverWs = clientWs && (sum & OPT_HAS_WSCALE) != 0;
  const wsServer = serverWs ? optWscale(sum) : 0;
  // a client that scales its window towards a server that does not: its windows get shifted
  const inShift = clientWs && !serverWs ? wsClient : 0;
  const clientWindow = windowOfCode(aux >> 8);
  const delta = cookie - serverIsn;

  // TOA and the PROXY header (clientaddr.ts) stay armed: they start with the ACK below
  let newFlags = CONNXF_SYNPROXY | CONNXF_SEQ | (flags & (CONNXF_SYNPROXY_WSCALE | CONNXF_SYNPROXY_TS | CONNXF_TOA | CONNXF_PROXY));
  if (ts) newFlags |= CONNXF_TS;
  if (wsServer != wsOurs || inShift != 0) newFlags |= CONNXF_SYNPROXY_WINDOW;
  store<u32>(x + CONNX_SEQ_OUT, delta);
  store<u32>(x + CONNX_TS, ts ? ourTsval - serverTsval : 0);
  store<u16>(x + CONNX_FLAGS, <u16>newFlags);
  store<u16>(x + CONNX_AUX, <u16>(inShift | (wsOurs << 4) | (wsServer << 8)));

  const r = rsAddress(<u32>load<u16>(c + CONN_RS));
  const fnat = (load<u8>(c + CONN_FLAGS) & CONNF_POOL) != 0;
  const x6 = v6 ? conn6Address(rec) : 0;
  const cip = v6 ? <u32>(x6 + CONN6_CIP) : load<u32>(c + CONN_CIP);
  const vip = v6 ? <u32>(x6 + CONN6_VIP) : load<u32>(c + CONN_VIP);
  const rip = v6 ? <u32>(x6 + CONN6_RIP) : load<u32>(c + CONN_RIP);
  const lip = v6 ? <u32>(x6 + CONN6_LIP) : load<u32>(c + CONN_LIP);
  const l3len = ipLen(v6);
  const cport = <u32>load<u16>(c + CONN_CPORT);
  const vport = <u32>load<u16>(c + CONN_VPORT);
  const rport = <u32>load<u16>(c + CONN_RPORT);
  const optLen: u32 = ts ? 12 : 0;
  const l2len: u32 = l2 ? ETH_HLEN : 0;

  // the ACK that completes the real server's handshake: (C|L)IP -> RIP, as forward() would send it.
  // It is the segment TOA must be in (the server's TOA module reads the option from the one that
  // completes the handshake), and it carries the PROXY header at the client's first byte, so a
  // server that speaks first (SMTP, FTP) hears who the client is without waiting for its data;
  // should it be lost, the client's first segment carries both again (clientaddr.ts).
  const e = emitReserve();
  if (e != 0) {
    const rsDev = <u32>load<u8>(r + RS_DEV);
    const eip = e + l2len;
    if (l2) {
      setMacs(e, r + RS_MAC, devMacOf(rsDev));
      store<u16>(e + ETH_TYPE, v6 ? ETH_P_IPV6_RAW : ETH_P_IP_RAW);
    }
    const src = fnat ? lip : cip;
    const sport = fnat ? <u32>load<u16>(c + CONN_LPORT) : cport;
    const eopts = eip + l3len + TCP_HLEN;
    let eoptLen = optLen;
    if (ts) writeTimestamps(eopts, clientTsval, serverTsval);
    if (flags & CONNXF_TOA) {
      if (v6) writeToa6(eopts + eoptLen, rec, c);
      else writeToa(eopts + eoptLen, c);
      eoptLen += v6 ? TCPOLEN_TOA6 : TCPOLEN_TOA;
      count(STAT_TOA_ADDED, 1);
    }
    let h = proxyHeaderLength(rec);
    // an IPv6 client's v1 header of two long addresses (up to 104 bytes), after timestamps and the
    // 20-byte TOA, would not fit an emit slot: the client's first segment carries it instead, as
    // when this ACK is lost (the header stays pending until the server acknowledges it)
    if (l2len + l3len + TCP_HLEN + eoptLen + h > EMIT_MAX) h = 0;
    if (h != 0) {
      writeProxy(eopts + eoptLen, rec, c, (clientAddrFlags(<u32>load<u16>(c + CONN_SVC)) & SVCF_PROXY_V2) != 0);
      count(STAT_PROXY_SENT, 1);
    }
    writeL3(eip, v6, src, rip, TCP_HLEN + eoptLen + h);
    writeTcp(eip + l3len, eip, v6, sport | (rport << 16), ack, serverIsn + 1, TH_ACK,
      inShift != 0 ? rescale(clientWindow, inShift, 0) : clientWindow, eoptLen, h);
    emitCommit(e, l2len + l3len + TCP_HLEN + eoptLen + h, rsDev);
  } else {
    // the client's first segment completes it instead (it carries the same ACK)
    count(STAT_EMIT_FULL, 1);
  }

  // the slot: VIP -> client, the ACK of the server's SYN as the client expects it, window open
  const cdev = <u32>load<u8>(c + CONN_CDEV);
  if (l2) setMacs(frame, c + CONN_CMAC, devMacOf(cdev));
  const nl4 = ip + l3len;
  if (ts) writeTimestamps(nl4 + TCP_HLEN, ourTsval, clientTsval);
  writeL3(ip, v6, vip, cip, TCP_HLEN + optLen);
  writeTcp(nl4, ip, v6, vport | (cport << 16), cookie + 1, ack, TH_ACK,
    clientWs ? rescale(serverWindow, 0, wsOurs) : serverWindow, optLen);
  if (vnet) memory.fill(frame - VNET_HDR_LEN, 0, VNET_HDR_LEN);
  store<u32>(desc + DESC_LEN, l2len + l3len + TCP_HLEN + optLen);
  store<u32>(desc + DESC_OFF, <u32>frame);
  store<u8>(desc + DESC_OUT_DEV, <u8>cdev);
  store<u8>(desc + DESC_VERDICT, VERDICT_FORWARD);
  return true;
}

/**
 * serverRefused prepares a pending session for the real server's RST: the client must see it
 * at the sequence number it expects from us (cookie + 1).
 */
export function serverRefused(rec: u32, l4: usize): void {
  const x = connxAddress(rec);
  const cookie = load<u32>(x + CONNX_SEQ_OUT);
  store<u32>(x + CONNX_SEQ_OUT, cookie + 1 - bswap<u32>(load<u32>(l4 + TCP_SEQ)));
  store<u32>(x + CONNX_TS, 0);
  store<u16>(x + CONNX_FLAGS, CONNXF_SYNPROXY | CONNXF_SEQ | (load<u16>(x + CONNX_FLAGS) & (CONNXF_TOA | CONNXF_PROXY)));
}

// ── after the handshake ──────────────────────────────────────────────────────────────────────
/**
 * proxyWindow rescales the window of a segment of a proxied session whose client and real server
 * did not agree on one window scale (the client heard ours before the server spoke): RS ->
 * client windows from the server's shift to ours, rounded up so a small window never reads as
 * zero; client -> RS windows by the client's shift when the server does not scale. One load and
 * a branch for every other session.
 */
// @ts-ignore: decorator
@inline export function proxyWindow(rec: u32, l4: usize, out: bool, partial: bool): void {
  const x = connxAddress(rec);
  if (x != 0 && (<u32>load<u16>(x + CONNX_FLAGS) & CONNXF_SYNPROXY_WINDOW) != 0) rewindow(x, l4, out, partial);
}

function rewindow(x: usize, l4: usize, out: bool, partial: bool): void {
  // a SYN's window is never scaled (a SYN-ACK the server repeats): leave it
  if (load<u8>(l4 + TCP_FLAGS) & TH_SYN) return;
  const aux = <u32>load<u16>(x + CONNX_AUX);
  const word = load<u32>(l4 + TCP_DOFF);
  const w = bswap16(word >>> 16);
  const nw = out ? rescale(w, (aux >> 8) & 0xf, (aux >> 4) & 0xf) : rescale(w, aux & 0xf, 0);
  if (nw == w) return;
  const next = (word & 0xffff) | (bswap16(nw) << 16);
  store<u32>(l4 + TCP_DOFF, next);
  if (!partial) store<u16>(l4 + TCP_CSUM, <u16>csumApply(<u32>load<u16>(l4 + TCP_CSUM), csumDelta32(word, next)));
}

/**
 * quoteAdjust moves the sequence number of the TCP segment an ICMP error quotes back into the
 * space of the side the error goes to (RFC 5927 §4.1: stacks check it against their send window
 * and ignore errors that quote a number they never sent), before relayIcmpError rewrites the
 * quote's addresses. `out` as in relayIcmpError: true when the error came from the real
 * server's side about a segment we forwarded to it. Any session with sequence deltas (the SYN
 * proxy, an inserted PROXY header) needs it; the quote's TCP checksum follows when quoted.
 */
export function quoteAdjust(rec: u32, ip: usize, out: bool): void {
  const x = connxAddress(rec);
  if (x == 0 || (<u32>load<u16>(x + CONNX_FLAGS) & CONNXF_SEQ) == 0) return;
  const ihl = (<u32>load<u8>(ip) & 15) << 2;
  const end = ip + bswap16(<u32>load<u16>(ip + IP_TOT_LEN));
  const e = ip + ihl + ICMP_HLEN;
  if (load<u8>(e + IP_PROTO) != IPPROTO_TCP) return;
  // parse.ts guaranteed the quote's first 8 bytes of L4: the ports and the sequence number
  quoteSeq(x, e + ((<u32>load<u8>(e) & 15) << 2), end, out);
}

/**
 * quoteAdjust6 is quoteAdjust for an ICMPv6 error (IPv6 header at `ip`) whose quoted TCP header
 * parse6.ts found at `l4` (its first 8 bytes present), before relayIcmp6Error rewrites the quote.
 */
export function quoteAdjust6(rec: u32, ip: usize, l4: usize, out: bool): void {
  const x = connxAddress(rec);
  if (x == 0 || (<u32>load<u16>(x + CONNX_FLAGS) & CONNXF_SEQ) == 0) return;
  quoteSeq(x, l4, ip + IP6_HLEN + bswap16(<u32>load<u16>(ip + IP6_PLEN)), out);
}

/** quoteSeq moves the quoted sequence number at `l4` by extension record `x`'s delta (quote ends at `end`) */
function quoteSeq(x: usize, l4: usize, end: usize, out: bool): void {
  const delta = 0 - load<u32>(x + (out ? CONNX_SEQ_IN : CONNX_SEQ_OUT));
  if (delta == 0) return;
  const from = load<u32>(l4 + TCP_SEQ);
  const to = bswap<u32>(bswap<u32>(from) + delta);
  store<u32>(l4 + TCP_SEQ, to);
  if (l4 + TCP_CSUM + 2 <= end) {
    store<u16>(l4 + TCP_CSUM, <u16>csumApply(<u32>load<u16>(l4 + TCP_CSUM), csumDelta32(from, to)));
  }
}

/**
 * synproxyActive: SYNs to service `s` are answered with cookies now, because the host switched
 * the proxy on (forced, or auto above the SYN rate) or, in auto mode, the core sees pressure: the
 * embryonic budget is used up or the table is as full as HDR_SYNPROXY_FILL says.
 */
// @ts-ignore: decorator
@inline export function synproxyActive(s: usize): bool {
  const f = load<u8>(s + SVC_FLAGS2);
  if ((f & SVCF2_SYNPROXY) == 0) return false;
  if (f & SVCF2_SYNPROXY_ON) return true;
  const fill = hdr(HDR_SYNPROXY_FILL);
  return embryonicFull() || (fill != 0 && hdr(HDR_CONN_COUNT) >= fill);
}
