// rs-server.ts — the program each lab real server runs: an HTTP server that says who it is and
// who it sees as the client, serves deterministic bulk data for integrity checks, and a UDP
// echo on the same port number.
//   node rs-server.js --name rs1 --port 80 [--port 81 ...] [--udp-port 5353] [--addr 0.0.0.0 | ::]
//   GET /              {"server":"rs1","client":"10.99.1.10","clientPort":41234}
//   GET /bytes/N       N bytes of a stream anyone can regenerate (see lab/data-stream.ts)
//   GET /ctr/N         N bytes of the faster AES-CTR stream, its SHA-256 in header x-sha256
//   GET /health        200 ok
//   POST /digest       {"bytes":N,"sha256":"..."} of the request body (uploads through the director)
//   UDP datagram       "rs1|<client address>|<payload>"
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { ctrDigest, ctrStream } from './data-stream.js';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'rs' },
    port: { type: 'string', multiple: true, default: ['80'] },
    'udp-port': { type: 'string' },
    addr: { type: 'string', default: '0.0.0.0' },
  },
});
const name = values.name!;
const ports = values.port!.map(Number);
const udpPort = Number(values['udp-port'] ?? ports[0]);

// with --addr :: the sockets take both families; an IPv4 client shows as ::ffff:a.b.c.d
const plain = (a: string) => a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/health') {
    res.end('ok\n');
    return;
  }
  if (url.pathname === '/digest' && req.method === 'POST') {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (d: Buffer) => { hash.update(d); bytes += d.length; });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }) + '\n');
    });
    return;
  }
  const m = /^\/bytes\/(\d+)$/.exec(url.pathname);
  if (m) {
    const total = Math.min(Number(m[1]), 1 << 30);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total, 'x-server': name });
    const stream = ctrStream(total);
    stream.pipe(res);
    return;
  }
  const ctr = /^\/ctr\/(\d+)$/.exec(url.pathname);
  if (ctr) {
    const total = Math.min(Number(ctr[1]), 1 << 30);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total, 'x-server': name, 'x-sha256': ctrDigest(total) });
    ctrStream(total).pipe(res);
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ server: name, client: plain(req.socket.remoteAddress ?? ''), clientPort: req.socket.remotePort }) + '\n');
};
const servers = ports.map((port) => {
  const http = createServer(handler);
  http.keepAliveTimeout = 2000;
  return new Promise<import('node:http').Server>((resolve) => http.listen(port, values.addr, () => resolve(http)));
});
const listening = await Promise.all(servers);
const udp = createSocket(values.addr!.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => {
  udp.send(Buffer.from(`${name}|${plain(rinfo.address)}|${msg.toString()}`), rinfo.port, rinfo.address);
});
udp.bind(udpPort, values.addr, () => console.log(`ready ${name} tcp:${ports.join(',')} udp:${udpPort}`));

const stop = () => {
  for (const http of listening) http.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
