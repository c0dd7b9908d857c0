// rs-http.ts — the HTTP program a lab real server runs, so tests see which real server answered
// and which source address it saw (CIP for DR/NAT/TUN, a LIP for Full-NAT).
//   node rs-http.js --name rs1 [--port 80] [--addr 0.0.0.0]
//   GET /          200 {"server":"rs1","client":"10.99.1.10","clientPort":41234}
//   GET /bytes/N   N bytes of the AES-CTR stream (src/lab/data-stream.ts), header x-sha256
//   GET /health    200 ok
//   GET /slow?ms=M the answer of `/`, M ms late (at most 120 s)
// It prints `ready <name> <addr>:<port>` once listening and exits 0 on SIGTERM/SIGINT.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { ctrDigest, ctrStream } from '../../../src/lab/data-stream.js';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'rs' },
    port: { type: 'string', default: '80' },
    addr: { type: 'string', default: '0.0.0.0' },
  },
});
const name = values.name!;
const MAX_BYTES = 2 ** 32;
const MAX_DELAY_MS = 120_000;

// a digest costs ~1.5 ms per MiB; tests ask for the same sizes again and again
const digests = new Map<number, string>();
function digestOf(n: number): string {
  let d = digests.get(n);
  if (d === undefined) {
    d = ctrDigest(n);
    if (digests.size >= 64) digests.delete(digests.keys().next().value!);
    digests.set(n, d);
  }
  return d;
}

const timers = new Set<NodeJS.Timeout>();

function whoami(req: IncomingMessage, res: ServerResponse): void {
  const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ server: name, client, clientPort: req.socket.remotePort }) + '\n');
}

const server = createServer((req, res) => {
  res.setHeader('x-server', name);
  const url = new URL(req.url ?? '/', 'http://rs');
  const bytes = /^\/bytes\/(\d+)$/.exec(url.pathname);
  if (url.pathname === '/health') {
    res.end('ok\n');
  } else if (bytes) {
    const n = Number(bytes[1]);
    if (n > MAX_BYTES) {
      res.writeHead(413).end(`at most ${MAX_BYTES} bytes\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n, 'x-sha256': digestOf(n) });
    ctrStream(n).pipe(res);
  } else if (url.pathname === '/slow') {
    const ms = Math.min(Math.max(Number(url.searchParams.get('ms') ?? 1000) || 0, 0), MAX_DELAY_MS);
    const timer = setTimeout(() => {
      timers.delete(timer);
      whoami(req, res);
    }, ms);
    timers.add(timer);
    res.once('close', () => { clearTimeout(timer); timers.delete(timer); });
  } else if (url.pathname === '/') {
    whoami(req, res);
  } else {
    res.writeHead(404).end('not found\n');
  }
});
server.keepAliveTimeout = 5000;
server.listen(Number(values.port), values.addr, () => console.log(`ready ${name} ${values.addr}:${values.port}`));

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const t of timers) clearTimeout(t);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  // a client that holds a connection open must not keep the program alive
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
