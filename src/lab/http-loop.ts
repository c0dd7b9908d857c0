// http-loop.ts — a legitimate client for flood tests: opens a new TCP connection per request
// (Connection: close), one after another on `--concurrency` lanes, for `--duration` ms, and
// prints one JSON line per request: {"t": epoch ms at start, "ok": bool, "ms": duration, "err"?}.
//   node http-loop.js --url http://10.99.1.100/ --duration 15000 [--timeout 3000] [--concurrency 1]
import { request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    duration: { type: 'string', default: '10000' },
    timeout: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '1' },
  },
});
const url = new URL(values.url ?? 'http://127.0.0.1/');
const end = Date.now() + Number(values.duration);
const timeout = Number(values.timeout);

function once(): Promise<void> {
  const t = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, err?: string) => {
      if (done) return;
      done = true;
      process.stdout.write(`${JSON.stringify({ t, ok, ms: Date.now() - t, ...(err ? { err } : {}) })}\n`);
      resolve();
    };
    const req = request(url, { headers: { connection: 'close' }, agent: false, timeout }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200, res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
      res.on('error', (e) => finish(false, e.message));
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', (e) => finish(false, e.message));
    req.end();
  });
}

async function lane(): Promise<void> {
  while (Date.now() < end) await once();
}

await Promise.all(Array.from({ length: Math.max(1, Number(values.concurrency)) }, lane));
