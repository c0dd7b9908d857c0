// tcp_state.ts — the IPVS TCP state machine (ip_vs_proto_tcp.c semantics): next state from the
// current state, the direction the segment travels and its most significant flag, plus the
// active/inactive accounting of the real server (IPVS counts a connection active only while
// ESTABLISHED). The per-state timeouts live in the header, overridable by the host.
import {
  CONNF_ACTIVE, CONN_FLAGS, CONN_STATE, RS_ACTIVE, RS_INACTIVE, TCP_S_ESTABLISHED,
} from './abi';

// @ts-ignore: decorator
@inline export const DIR_INPUT: u32 = 0;
// @ts-ignore: decorator
@inline export const DIR_OUTPUT: u32 = 1;
// DR and TUN: the director only ever sees the client's half of the conversation
// @ts-ignore: decorator
@inline export const DIR_INPUT_ONLY: u32 = 2;

// Rows: direction × event (syn, fin, ack, rst); columns: current state in IPVS order
// NONE ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN SYNACK
const NEXT_STATE: usize = memory.data<u8>([
  // input
  3, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3,
  6, 7, 2, 5, 5, 5, 6, 7, 8, 9, 5,
  6, 1, 2, 1, 4, 5, 6, 7, 6, 9, 1,
  6, 6, 6, 3, 6, 6, 6, 6, 8, 9, 3,
  // output
  2, 1, 2, 3, 2, 2, 2, 2, 2, 9, 3,
  5, 4, 2, 5, 4, 5, 6, 5, 8, 9, 5,
  1, 1, 2, 1, 4, 5, 6, 7, 8, 1, 1,
  6, 6, 2, 6, 6, 5, 6, 6, 6, 6, 6,
  // input only
  3, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3,
  6, 4, 2, 5, 4, 5, 6, 7, 8, 9, 5,
  6, 1, 2, 1, 4, 5, 6, 7, 6, 9, 1,
  6, 6, 6, 3, 6, 6, 6, 6, 8, 9, 6,
]);

// @ts-ignore: decorator
@inline const TH_FIN: u32 = 0x01;
// @ts-ignore: decorator
@inline const TH_SYN: u32 = 0x02;
// @ts-ignore: decorator
@inline const TH_RST: u32 = 0x04;
// @ts-ignore: decorator
@inline const TH_ACK: u32 = 0x10;

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
