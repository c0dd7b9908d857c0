// huge-pages.ts — asks the kernel to back the director's one memory (session records, index,
// frame slots) with transparent huge pages (director.huge_pages). A lookup in a table of a
// million sessions touches an index slot and a record at random in ~100 MiB: with 4 KiB pages
// each also misses the TLB (bench:core measured +6 % on the 1M-session hit path and +12 % on new
// sessions with the advice, bench/README.md). The advice is madvise(MADV_HUGEPAGE), a hint for
// this process only: it needs the kernel's THP mode to be "madvise" or "always", and changes no
// system setting.
import { readFileSync } from 'node:fs';
import { native } from './native.js';

/** the kernel's transparent-huge-page mode, as /sys/kernel/mm/transparent_hugepage/enabled shows it */
export type ThpMode = 'always' | 'madvise' | 'never' | 'unknown';

export interface HugePagesResult {
  mode: ThpMode;
  /** bytes of the memory advised (whole 2 MiB pages inside it); 0 when none could be */
  advisedBytes: number;
}

const THP_ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled';

/** thpMode reads the bracketed choice of the kernel's THP setting (unknown: no THP in this kernel) */
export function thpMode(path = THP_ENABLED): ThpMode {
  try {
    const m = /\[(always|madvise|never)\]/.exec(readFileSync(path, 'utf8'));
    return m ? (m[1] as ThpMode) : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * adviseHugePages advises the whole of `memory`. Call it before the memory is written: the kernel
 * backs a huge page when it is first touched (khugepaged collapses pages touched before, later).
 */
export function adviseHugePages(memory: WebAssembly.Memory): HugePagesResult {
  const mode = thpMode();
  if (mode === 'never' || mode === 'unknown') return { mode, advisedBytes: 0 };
  return { mode, advisedBytes: native().adviseHugePages(new Uint8Array(memory.buffer)) };
}
