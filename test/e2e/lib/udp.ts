// udp.ts — one UDP question from inside a namespace, retried a bounded number of times.
import type { InNamespace } from './in-namespace.js';
// the test's own clients run on Node whatever runs wlvs, as curl would
import { executable } from '../../../src/sys/runtime.js';

/** UdpAnswer is rs-udp's echo split into its parts. */
export interface UdpAnswer { server: string; client: string; payload: string }

export interface UdpOptions {
  /** wait this long for each answer (default 1 s) */
  timeoutMs?: number;
  /** send at most this many times (default 3): UDP may lose the first datagram while ARP resolves */
  tries?: number;
  localAddress?: string;
  localPort?: number;
}

// runs inside the namespace: argv = address, port, payload, timeout ms, tries, local address, local port
const CLIENT = `
const [address, port, payload, timeout, tries, localAddress, localPort] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
let sent = 0;
const send = () => {
  if (sent++ === Number(tries)) { console.log(JSON.stringify({ error: 'no answer after ' + tries + ' tries' })); process.exit(0); }
  s.send(payload, Number(port), address);
  setTimeout(send, Number(timeout)).unref();
};
s.on('message', (m) => { console.log(JSON.stringify({ answer: m.toString() })); process.exit(0); });
s.bind({ address: localAddress || undefined, port: Number(localPort) || 0 }, send);
setTimeout(() => {}, Number(timeout) * (Number(tries) + 1));
`;

/** udpRequest sends `payload` to address:port and resolves with the raw answer text. */
export async function udpRequest(ns: InNamespace, role: string, address: string, port: number, payload: string,
  opts: UdpOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const tries = opts.tries ?? 3;
  const out = await ns.exec(role, executable('node'), ['-e', CLIENT, address, String(port), payload, String(timeoutMs), String(tries),
    opts.localAddress ?? '', String(opts.localPort ?? 0)], timeoutMs * (tries + 1) + 5000);
  const r = JSON.parse(out) as { answer?: string; error?: string };
  if (r.error !== undefined) throw new Error(`UDP ${address}:${port}: ${r.error}`);
  return r.answer!;
}

/** parseEcho splits `server|client|payload` (the payload may contain `|`). */
export function parseEcho(answer: string): UdpAnswer {
  const [server, client, ...rest] = answer.split('|');
  return { server, client, payload: rest.join('|') };
}
