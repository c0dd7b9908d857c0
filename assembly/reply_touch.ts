// reply_touch.ts — pass 2's look ahead for the frames that will create a NAT session. Creating
// one looks up the reply key's index slot (RS -> client: the clash check, then the insert), and
// that slot is as cold as the frame's own was before pass 2a touched it: profiled on 2026-12-03,
// about half of a new session's time was that one miss (bench/README.md). The server is chosen
// only in pass 3, so pass 2b predicts it (sched/peek.ts) and notes that server's reply slot in the
// frame's scratch, and pass 2c loads the noted slots one after another: independent loads, whose
// misses overlap across the batch as pass 2a's do, and with several lanes they happen outside
// the exclusive table lock that creation takes. Loading each slot as soon as it was predicted
// gained nothing where the prediction takes a few dozen instructions (lc, wlc): the misses then
// come too far apart to overlap. Touching the slot of every destination instead of predicting
// was slower too (four loads for the one that counts).
import {
  FWD_INHERIT, FWD_NAT, IPPROTO_TCP, IPPROTO_UDP, NO_RS, RS_FWD, RS_RPORT, SCR_DST, SCR_PROTO, SCR_SPORT, SCR_SRC,
  SCR_TCPFLAGS, SVCF_PERSIST, SVC_FLAGS, SVC_FWD,
} from './abi';
import { flowHash } from './flow';
import { peekServer } from './sched/peek';
import { NO_SERVICE, lookupService, serviceAddress } from './service';
import { rsAddress } from './session';
import { synproxyActive } from './synproxy';
import { TH_ACK, TH_SYN } from './wire';

/** mayCreate: the IPv4 frame in `scr` may create a session (a TCP SYN or a UDP datagram) */
// @ts-ignore: decorator
@inline export function mayCreate(scr: usize): bool {
  const proto = load<u8>(scr + SCR_PROTO);
  return proto == IPPROTO_UDP || (proto == IPPROTO_TCP && (load<u8>(scr + SCR_TCPFLAGS) & (TH_SYN | TH_ACK)) == TH_SYN);
}

/**
 * replySlot is the reply key's index slot + 1 of the IPv4 frame pass 1 parsed into `scr` (class
 * CLASS_IN, no session in its home slot, mayCreate) if its session would be NAT's (for TCP: its
 * SYN is not answered by the SYN proxy) and its server can be predicted, else 0.
 */
export function replySlot(scr: usize, mask: u32): u32 {
  const proto = <u32>load<u8>(scr + SCR_PROTO);
  const ports = load<u32>(scr + SCR_SPORT);
  const vport = ports >>> 16;
  const vip = load<u32>(scr + SCR_DST);
  const svc = lookupService(vip, vport, proto);
  if (svc == NO_SERVICE) return 0;
  const s = serviceAddress(svc);
  // a persistent service's server is its client's template's, whose lookup is a miss of its own
  if ((load<u8>(s + SVC_FLAGS) & SVCF_PERSIST) != 0 || (proto == IPPROTO_TCP && synproxyActive(s))) return 0;
  const cip = load<u32>(scr + SCR_SRC);
  const rs = peekServer(svc, s, cip, <u16>ports, vip);
  if (rs == NO_RS) return 0;
  const r = rsAddress(rs);
  let fwd = <u32>load<u8>(r + RS_FWD);
  if (fwd == FWD_INHERIT) fwd = <u32>load<u8>(s + SVC_FWD);
  if (fwd != FWD_NAT) return 0;
  // the reply key as newConn builds it: server address and port, client address and port
  const rportRaw = <u32>load<u16>(r + RS_RPORT);
  const outPorts = (rportRaw != 0 ? rportRaw : vport) | ((ports & 0xffff) << 16);
  return (flowHash(load<u32>(r), cip, outPorts, proto) & mask) + 1;
}
