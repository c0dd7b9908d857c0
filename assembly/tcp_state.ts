// tcp_state.ts — the IPVS TCP state machine (ip_vs_proto_tcp.c semantics): next state from the
// current state, the direction the segment travels and its most significant flag, plus the
// active/inactive accounting of the real server (IPVS counts a connection active only while
// ESTABLISHED) and of the embryonic budget (SYN_RECV). The per-state timeouts live in the header, overridable by the host.
import {
  CONNF_ACTIVE, CONN_FLAGS, CONN_STATE, RS_ACTIVE, RS_INACTIVE, TCP_S_CLOSE, TCP_S_CLOSE_WAIT, TCP_S_ESTABLISHED,
  TCP_S_FIN_WAIT, TCP_S_LAST_ACK, TCP_S_LISTEN, TCP_S_NONE, TCP_S_SYNACK, TCP_S_SYN_RECV, TCP_S_SYN_SENT,
  TCP_S_TIME_WAIT,
} from './abi';
import { embryonicChange } from './embryonic';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from './wire';

// @ts-ignore: decorator
@inline export const DIR_INPUT: u32 = 0;
// @ts-ignore: decorator
@inline export const DIR_OUTPUT: u32 = 1;
// DR and TUN: the director only ever sees the client's half of the conversation
// @ts-ignore: decorator
@inline export const DIR_INPUT_ONLY: u32 = 2;

// IPVS's mnemonics (ip_vs_proto_tcp.c): sNO NONE, sES ESTABLISHED, sSS SYN_SENT, sSR SYN_RECV,
// sFW FIN_WAIT, sTW TIME_WAIT, sCL CLOSE, sCW CLOSE_WAIT, sLA LAST_ACK, sLI LISTEN, sSA SYNACK
// @ts-ignore: decorator
@inline const sNO: u8 = TCP_S_NONE;
// @ts-ignore: decorator
@inline const sES: u8 = TCP_S_ESTABLISHED;
// @ts-ignore: decorator
@inline const sSS: u8 = TCP_S_SYN_SENT;
// @ts-ignore: decorator
@inline const sSR: u8 = TCP_S_SYN_RECV;
// @ts-ignore: decorator
@inline const sFW: u8 = TCP_S_FIN_WAIT;
// @ts-ignore: decorator
@inline const sTW: u8 = TCP_S_TIME_WAIT;
// @ts-ignore: decorator
@inline const sCL: u8 = TCP_S_CLOSE;
// @ts-ignore: decorator
@inline const sCW: u8 = TCP_S_CLOSE_WAIT;
// @ts-ignore: decorator
@inline const sLA: u8 = TCP_S_LAST_ACK;
// @ts-ignore: decorator
@inline const sLI: u8 = TCP_S_LISTEN;
// @ts-ignore: decorator
@inline const sSA: u8 = TCP_S_SYNACK;

// Rows: direction × event; columns: the current state. Read a row as IPVS's tcp_states table:
// "an input syn in state sES leaves it in sES".
const NEXT_STATE: usize = memory.data<u8>([
  //        sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA
  // input
  /*syn */ sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR,
  /*fin */ sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW,
  /*ack */ sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES,
  /*rst */ sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR,
  // output
  /*syn */ sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR,
  /*fin */ sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW,
  /*ack */ sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES,
  /*rst */ sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL,
  // input only
  /*syn */ sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR,
  /*fin */ sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW,
  /*ack */ sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES,
  /*rst */ sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL,
]);

/** tcpEvent: which row applies; RST wins over SYN over FIN over ACK, as in IPVS; 4 = none */
// @ts-ignore: decorator
@inline function tcpEvent(flags: u32): u32 {
  if (flags & TH_RST) return 3;
  if (flags & TH_SYN) return 0;
  if (flags & TH_FIN) return 1;
  if (flags & TH_ACK) return 2;
  return 4;
}

/** nextTcpState: the state after a segment with `flags` in direction `dir` (DIR_*). */
// @ts-ignore: decorator
@inline export function nextTcpState(state: u32, dir: u32, flags: u32): u32 {
  const ev = tcpEvent(flags);
  if (ev == 4 || state > 10) return state;
  return <u32>load<u8>(NEXT_STATE + (dir * 4 + ev) * 11 + state);
}

/**
 * applyTcpState moves session `c` to `next`, keeping the real server `r`'s active/inactive
 * counters in step (IPVS: active while ESTABLISHED, inactive otherwise).
 */
// @ts-ignore: decorator
@inline export function applyTcpState(c: usize, r: usize, next: u32): void {
  embryonicChange(<u32>load<u8>(c + CONN_STATE), next);
  store<u8>(c + CONN_STATE, <u8>next);
  const flags = load<u8>(c + CONN_FLAGS);
  const active = (flags & CONNF_ACTIVE) != 0;
  if (active && next != TCP_S_ESTABLISHED) {
    store<u8>(c + CONN_FLAGS, flags & ~CONNF_ACTIVE);
    store<u32>(r + RS_ACTIVE, load<u32>(r + RS_ACTIVE) - 1);
    store<u32>(r + RS_INACTIVE, load<u32>(r + RS_INACTIVE) + 1);
  } else if (!active && next == TCP_S_ESTABLISHED) {
    store<u8>(c + CONN_FLAGS, flags | CONNF_ACTIVE);
    store<u32>(r + RS_ACTIVE, load<u32>(r + RS_ACTIVE) + 1);
    store<u32>(r + RS_INACTIVE, load<u32>(r + RS_INACTIVE) - 1);
  }
}
