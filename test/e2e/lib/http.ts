// http.ts — HTTP requests from inside a namespace, with real TCP stacks and hard timeouts:
// curl for the plain "who answered" question, a Node client for bodies and digests.
import type { InNamespace } from './in-namespace.js';
// the test's own clients run on Node whatever runs wlvs, as curl would
import { executable } from '../../../src/sys/runtime.js';

/** RsAnswer is what rs-http says on `GET /`. */
export interface RsAnswer { server: string; client: string; clientPort: number }

export interface RequestOptions {
  /** the whole request, connect to last byte (default 5 s) */
  timeoutMs?: number;
  /** source address (the client namespace may own several) */
  localAddress?: string;
}

/** curlJson fetches `url` with curl over a fresh connection and parses the JSON answer. */
export async function curlJson<T = RsAnswer>(ns: InNamespace, role: string, url: string,
  opts: RequestOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const args = ['-sS', '--fail', '--max-time', String(timeoutMs / 1000), ...(opts.localAddress ? ['--interface', opts.localAddress] : []), url];
  const out = await ns.exec(role, 'curl', args, timeoutMs + 5000);
  try {
    return JSON.parse(out) as T;
  } catch {
    throw new Error(`not JSON from ${url}: ${JSON.stringify(out.slice(0, 200))}`);
  }
}

/** HttpResult is one response as seen by the client: the body's size and digest, and its start as text. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** the first 64 KiB of the body */
  text: string;
  bytes: number;
  sha256: string;
  ms: number;
}

// runs inside the namespace: argv = url, timeout ms, local address ('' for any)
const CLIENT = `
const [url, timeout, localAddress] = process.argv.slice(1);
const http = require('node:http');
const hash = require('node:crypto').createHash('sha256');
const t0 = Date.now();
const fail = (m) => { console.log(JSON.stringify({ error: m })); process.exit(0); };
const timer = setTimeout(() => fail('timed out after ' + timeout + ' ms'), Number(timeout));
const req = http.get(url, { agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
  let text = ''; let bytes = 0;
  res.on('data', (d) => { hash.update(d); bytes += d.length; if (text.length < 65536) text += d.toString('latin1').slice(0, 65536 - text.length); });
  res.on('end', () => {
    clearTimeout(timer);
    console.log(JSON.stringify({ status: res.statusCode, headers: res.headers, text, bytes, sha256: hash.digest('hex'), ms: Date.now() - t0 }));
  });
  res.on('error', (e) => fail(e.message));
});
req.on('error', (e) => fail(e.message));
`;

/** httpGet fetches `url` with Node's client over a fresh connection; the body is hashed, not kept. */
export async function httpGet(ns: InNamespace, role: string, url: string,
  opts: RequestOptions = {}): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const out = await ns.exec(role, executable('node'), ['-e', CLIENT, url, String(timeoutMs), opts.localAddress ?? ''], timeoutMs + 5000);
  const r = JSON.parse(out) as HttpResult & { error?: string };
  if (r.error) throw new Error(`GET ${url}: ${r.error}`);
  return r;
}

/** download fetches /bytes/N and checks the body against the server's x-sha256 header. */
export async function download(ns: InNamespace, role: string, url: string,
  opts: RequestOptions = {}): Promise<HttpResult & { intact: boolean }> {
  const r = await httpGet(ns, role, url, { timeoutMs: 120_000, ...opts });
  return { ...r, intact: r.status === 200 && r.sha256 === r.headers['x-sha256'] };
}
