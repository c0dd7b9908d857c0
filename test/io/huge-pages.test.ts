// director.huge_pages (src/io/huge-pages.ts): the kernel's THP mode is read as it says it, and
// a memory advised by the addon is backed by huge pages once touched, where the mode allows it
// (checked in /proc/self/smaps_rollup); in mode "never" nothing is advised.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adviseHugePages, thpMode } from '../../src/io/huge-pages.js';

const MIB = 1 << 20;

function anonHugeBytes(): number {
  const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

describe('huge pages', () => {
  it('reads the bracketed THP mode, and unknown without the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wlvs-thp-'));
    try {
      for (const mode of ['always', 'madvise', 'never'] as const) {
        const others = ['always', 'madvise', 'never'].map((m) => (m === mode ? `[${m}]` : m)).join(' ');
        writeFileSync(join(dir, mode), `${others}\n`);
        assert.equal(thpMode(join(dir, mode)), mode);
      }
      writeFileSync(join(dir, 'odd'), 'always madvise never\n');
      assert.equal(thpMode(join(dir, 'odd')), 'unknown');
      assert.equal(thpMode(join(dir, 'absent')), 'unknown');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backs an advised shared memory with huge pages as it is first touched', () => {
    const pages = (64 * MIB) / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const before = anonHugeBytes();
    const { mode, advisedBytes } = adviseHugePages(memory);
    assert.equal(mode, thpMode());
    if (mode === 'never' || mode === 'unknown') {
      assert.equal(advisedBytes, 0);
      return;
    }
    // every whole 2 MiB page inside the memory: at most one page lost at each end
    assert.ok(advisedBytes >= 60 * MIB && advisedBytes <= 64 * MIB && advisedBytes % (2 * MIB) === 0, `advised ${advisedBytes}`);
    const bytes = new Uint8Array(memory.buffer);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 1;
    // the kernel may fall back to small pages where it finds no free huge one: most, not all
    const gained = anonHugeBytes() - before;
    assert.ok(gained >= advisedBytes / 2, `${gained} bytes in huge pages of ${advisedBytes} advised`);
  });

  it('refuses what is not a Uint8Array', async () => {
    const { native } = await import('../../src/io/native.js');
    assert.throws(() => native().adviseHugePages(new Uint16Array(4) as unknown as Uint8Array), /adviseHugePages takes a Uint8Array/);
  });
});
