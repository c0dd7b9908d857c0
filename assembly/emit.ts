// emit.ts — frames the core builds beside the batch's own (abi.ts "emit slots"): a batch's frame
// slots map one to one to the frames read, so a packet that must produce two (the SYN proxy's
// ACK to the real server beside the window update to the client) writes the second here. The
// host sends them after process(); a full region drops the extra frame, counted by the caller.
import { EMIT_DEV, EMIT_FRAME, EMIT_LEN, EMIT_SLOT_SIZE, HDR_EMIT_BASE, HDR_EMIT_CAP, HDR_EMIT_COUNT } from './abi';
import { hdr, lhdr, setHdr, setLhdr } from './mem';

/** the largest frame an emit slot holds */
// @ts-ignore: decorator
@inline export const EMIT_MAX: u32 = EMIT_SLOT_SIZE - EMIT_FRAME;

// multi-core: the emit region and its count are per batch; per worker with several workers.

/** emitReserve returns where the next extra frame goes, or 0 when the region is full. */
// @ts-ignore: decorator
@inline export function emitReserve(): usize {
  const n = lhdr(HDR_EMIT_COUNT);
  if (n >= hdr(HDR_EMIT_CAP)) return 0;
  return <usize>(lhdr(HDR_EMIT_BASE) + n * EMIT_SLOT_SIZE + EMIT_FRAME);
}

/** emitCommit hands the frame written at `frame` (from emitReserve) to the host for device `dev`. */
// @ts-ignore: decorator
@inline export function emitCommit(frame: usize, len: u32, dev: u32): void {
  const slot = frame - EMIT_FRAME;
  store<u16>(slot + EMIT_LEN, <u16>len);
  store<u8>(slot + EMIT_DEV, <u8>dev);
  store<u8>(slot + EMIT_DEV + 1, 0);
  setLhdr(HDR_EMIT_COUNT, lhdr(HDR_EMIT_COUNT) + 1);
}
