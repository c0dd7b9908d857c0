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
import {
  DESC_LEN, DESC_OFF, DESC_OUT_DEV, DESC_REASON, DESC_VERDICT, ETH_HLEN, HDR_SYNPROXY_OPTS, IPPROTO_TCP,
  SCR_L3, SCR_L4, SCR_TCPFLAGS, STAT_COOKIES_SENT, VERDICT_FORWARD, VNET_HDR_LEN,
} from './abi';
import { ipHeaderChecksum, tcpChecksum } from './csum';
import { bswap16, copy6, hdr } from './mem';
import { TS_OPT_ECN, TS_OPT_SACK, WSCALE_NONE, cookieMake, mssIndex, tsEncode } from './syncookie';
import { OPT_HAS_SACK, OPT_HAS_WSCALE, optMss, optTs, optWscale, readOptions, writeOptions } from './tcp_opts';
import { count } from './stats';
import {
  ETH_DST, ETH_SRC, IP_CSUM, IP_DF_RAW, IP_DST, IP_FRAG, IP_HLEN, IP_ID, IP_PROTO, IP_SRC, IP_TOS, IP_TOT_LEN,
  IP_TTL, IP_VIHL, IP_VIHL_PLAIN, TCP_ACK, TCP_CSUM, TCP_DEFAULT_MSS, TCP_DOFF, TCP_FLAGS, TCP_HLEN, TCP_SEQ,
  TCP_URG, TCP_WINDOW, TH_ACK, TH_CWR, TH_ECE, TH_SYN,
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

/**
 * writeTcp writes a TCP header at `l4` (ports raw: sport | dport << 16, as loaded) with `optLen`
 * bytes of options already in place after it, and its checksum over the pseudo-header src -> dst.
 */
export function writeTcp(l4: usize, src: u32, dst: u32, ports: u32, seq: u32, ack: u32, flags: u8, window: u32, optLen: u32): void {
  store<u32>(l4, ports);
  store<u32>(l4 + TCP_SEQ, bswap<u32>(seq));
  store<u32>(l4 + TCP_ACK, bswap<u32>(ack));
  store<u8>(l4 + TCP_DOFF, <u8>(((TCP_HLEN + optLen) >> 2) << 4));
  store<u8>(l4 + TCP_FLAGS, flags);
  store<u16>(l4 + TCP_WINDOW, <u16>bswap16(window));
  store<u16>(l4 + TCP_CSUM, 0);
  store<u16>(l4 + TCP_URG, 0);
  store<u16>(l4 + TCP_CSUM, <u16>tcpChecksum(src, dst, l4, TCP_HLEN + optLen));
}

/**
 * answerSyn turns the client's SYN in slot `desc` into our SYN-ACK with a cookie and sends it
 * back out of the device it came from. No session is created. MSS, SACK-permitted and window
 * scale of the SYN go into the cookie (no timestamps) or our timestamp value (timestamps).
 */
export function answerSyn(desc: usize, scr: usize, l2: bool, vnet: bool, inDev: u32, now: u32): void {
  const frame = <usize>load<u32>(desc + DESC_OFF);
  const ip = <usize>load<u32>(scr + SCR_L3);
  const l4 = <usize>load<u32>(scr + SCR_L4);
  const cip = load<u32>(ip + IP_SRC);
  const vip = load<u32>(ip + IP_DST);
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
  const mssind = mssIndex(mss);
  // Linux cookie_init_timestamp: window scale | SACK << 4 | ECN << 5 in the timestamp value
  const ecn = (tf & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR);
  const data = ts ? mssind : mssind | (sack ? 4 : 0) | (wscode << 3);
  const cookie = cookieMake(cip, vip, ports, isn, data);
  const tsval = ts ? tsEncode(now, wscode | (sack ? TS_OPT_SACK : 0) | (ecn ? TS_OPT_ECN : 0)) : 0;
  const ours = hdr(HDR_SYNPROXY_OPTS);

  // the SYN was addressed to our MAC: answer from it to where the SYN came from
  if (l2) swapMacs(frame);
  const nl4 = ip + IP_HLEN;
  const optLen = writeOptions(nl4 + TCP_HLEN, ours & 0xffff, sack, ts, tsval, clientTsval,
    wsOk ? <i32>((ours >>> 16) & 0xf) : -1);
  writeIp(ip, vip, cip, TCP_HLEN + optLen);
  // ECN is not offered (no ECE): the director cannot know yet whether the real server agrees
  writeTcp(nl4, vip, cip, rotr<u32>(ports, 16), cookie, isn + 1, TH_SYN | TH_ACK, 0, optLen);
  if (vnet) memory.fill(frame - VNET_HDR_LEN, 0, VNET_HDR_LEN);
  store<u32>(desc + DESC_LEN, (l2 ? ETH_HLEN : 0) + IP_HLEN + TCP_HLEN + optLen);
  store<u8>(desc + DESC_OUT_DEV, <u8>inDev);
  store<u8>(desc + DESC_VERDICT, VERDICT_FORWARD);
  store<u8>(desc + DESC_REASON, 0);
  count(STAT_COOKIES_SENT, 1);
}
