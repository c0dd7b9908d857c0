// lib.ts — client-side helpers for end-to-end tests: requests from inside the lab's client
// namespace with real TCP/UDP stacks, and reads of the director's admin API from its namespace.
import type { Topology } from '../../src/lab/topology.js';
import type { RunningDirector } from '../../src/lab/lab-director.js';
// the test's own clients run on Node whatever runs wlvs, as curl would
import { executable } from '../../src/sys/runtime.js';

export interface HttpAnswer { server: string; client: string; clientPort: number }

/** get asks the VIP over a fresh TCP connection (curl, from `source` if given) and parses the server's JSON */
export async function get(topo: Topology, url: string, source?: string): Promise<HttpAnswer> {
  const from = source ? ['--interface', source] : [];
  const out = await topo.lab.exec(topo.client.role, 'curl', ['-s', '--max-time', '5', ...from, url]);
  try {
    return JSON.parse(out) as HttpAnswer;
  } catch {
    throw new Error(`not JSON from ${url}: ${JSON.stringify(out.slice(0, 200))}`);
  }
}

/** udp sends one datagram from the client and returns the answer text */
export async function udp(topo: Topology, address: string, port: number, payload: string): Promise<string> {
  const script = `const s=require('dgram').createSocket('${address.includes(':') ? 'udp6' : 'udp4'}');` +
    `s.on('message',(m)=>{console.log(m.toString());process.exit(0)});` +
    `let n=0;const t=setInterval(()=>{if(n++===5){console.log('timeout');process.exit(3)}s.send(${JSON.stringify(payload)},${port},'${address}')},400);` +
    `s.send(${JSON.stringify(payload)},${port},'${address}')`;
  return (await topo.lab.exec(topo.client.role, executable('node'), ['-e', script], 10_000)).trim();
}

/** download fetches `bytes` from /bytes/N and returns the SHA-256 the client computed */
export async function download(topo: Topology, url: string): Promise<{ sha256: string; server: string; size: number }> {
  const out = await topo.lab.exec(topo.client.role, 'sh', ['-c',
    `curl -s --max-time 60 -D /dev/stderr ${url} 2>/tmp/${topo.lab.id}-h | sha256sum; grep -i x-server /tmp/${topo.lab.id}-h; rm -f /tmp/${topo.lab.id}-h`], 90_000);
  const [sum, header] = out.trim().split('\n');
  return { sha256: sum.split(' ')[0], server: header?.split(':')[1]?.trim() ?? '', size: 0 };
}

/** api reads the director's admin API from inside its namespace */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON is checked by the tests' assertions
export async function api<T = any>(topo: Topology, dir: RunningDirector, path: string): Promise<T> {
  const out = await topo.lab.exec(topo.director.role, 'curl', ['-s', '--max-time', '5', `${dir.adminUrl}${path}`]);
  return JSON.parse(out) as T;
}

/** apiWrite changes something through the admin API; `token` false sends none */
export async function apiWrite(topo: Topology, dir: RunningDirector, method: string, path: string, body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as api()
  token: string | false = ''): Promise<{ status: number; body: any }> {
  const args = ['-s', '--max-time', '10', '-w', '\n%{http_code}', '-X', method,
    '-H', 'content-type: application/json', `${dir.adminUrl}${path}`];
  if (token !== false) args.push('-H', `authorization: Bearer ${token}`);
  if (body !== undefined) args.push('-d', JSON.stringify(body));
  const out = await topo.lab.exec(topo.director.role, 'curl', args);
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: JSON.parse(out.slice(0, i) || '{}') };
}

export function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
