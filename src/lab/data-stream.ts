// data-stream.ts — deterministic byte streams (counter mode) that a server can send and a client
// can regenerate, to check a long transfer arrived intact without storing it.
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const BLOCK = 32;

/** block k of the stream */
function streamBlock(k: number): Buffer {
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

// The counter-mode stream above costs one SHA-256 call per 32 bytes (≈ 100 ms per MiB here),
// too slow for multi-GiB transfers. This one is the AES-128-CTR keystream over zeros: still a
// counter mode anyone can regenerate, at memory speed.
const CTR_KEY = createHash('sha256').update('wlvs-ctr-stream').digest().subarray(0, 16);
const CTR_IV = Buffer.alloc(16);
const CTR_CHUNK = 1 << 16;
const ZEROS = Buffer.alloc(CTR_CHUNK);

/** ctrStream yields the first `total` bytes of the AES-128-CTR keystream, in 64 KiB chunks. */
export function ctrStream(total: number): Readable {
  const cipher = createCipheriv('aes-128-ctr', CTR_KEY, CTR_IV);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(CTR_CHUNK, total - sent);
      sent += n;
      this.push(cipher.update(n === CTR_CHUNK ? ZEROS : ZEROS.subarray(0, n)));
    },
  });
}

/** ctrDigest: the SHA-256 (hex) of the first `total` bytes of the ctrStream. */
export function ctrDigest(total: number): string {
  const cipher = createCipheriv('aes-128-ctr', CTR_KEY, CTR_IV);
  const h = createHash('sha256');
  for (let left = total; left > 0; left -= CTR_CHUNK) {
    h.update(cipher.update(left >= CTR_CHUNK ? ZEROS : ZEROS.subarray(0, left)));
  }
  return h.digest('hex');
}
