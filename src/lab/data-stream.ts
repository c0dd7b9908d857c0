// data-stream.ts — a deterministic byte stream (SHA-256 in counter mode) that a server can send
// and a client can regenerate to check a long transfer arrived intact without storing it.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const BLOCK = 32;

/** block k of the stream */
export function streamBlock(k: number): Buffer {
  return createHash('sha256').update(`wlvs-stream-${k}`).digest();
}

/** dataStream yields the first `total` bytes of the stream, in 64 KiB chunks. */
export function dataStream(total: number): Readable {
  let sent = 0;
  let k = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(65536, total - sent);
      const chunk = Buffer.allocUnsafe(Math.ceil(n / BLOCK) * BLOCK);
      for (let off = 0; off < chunk.length; off += BLOCK) streamBlock(k++).copy(chunk, off);
      sent += n;
      this.push(chunk.subarray(0, n));
    },
  });
}

/** streamDigest: the SHA-256 of the first `total` bytes of the stream. */
export function streamDigest(total: number): string {
  const h = createHash('sha256');
  let k = 0;
  for (let left = total; left > 0; left -= BLOCK) {
    const b = streamBlock(k++);
    h.update(left >= BLOCK ? b : b.subarray(0, left));
  }
  return h.digest('hex');
}
