// nginx.ts — nginx as the real server of a lab, one per real-server namespace, with its config,
// pid file and logs in the lab's temp dir (removed with the lab), stopped by PID with the lab.
// The benchmarks use it for the short-connection rate (`GET /` answers "ok" and, with
// `Connection: close`, nginx closes first: its TIME_WAIT sits on the tuple it was reached by);
// the PROXY protocol tests use `proxyProtocol` (nginx parses the header, a real parser) and the
// access log, which records $proxy_protocol_addr and $remote_addr of every request.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Topology } from './topology.js';
import { waitForLine } from './wait-line.js';

const RS_SERVER = new URL('./rs-server.js', import.meta.url).pathname;

export interface NginxOptions {
  /** `listen 80 proxy_protocol`: every connection must start with a PROXY header (v1 or v2) */
  proxyProtocol?: boolean;
  /** write an access log per server (its path is in the result) */
  accessLog?: boolean;
  /** files to serve under /files/NAME, written into each server's document root */
  files?: Record<string, Uint8Array>;
  /** also listen on this port without the PROXY protocol (TOA tests share the servers) */
  plainPort?: number;
  /** POST /digest goes to the lab's rs-server on this local port, which answers the body's sha256 */
  digestPort?: number;
  /** listen on IPv6 too ([::]:80 and the plain port), for the servers' IPv6 addresses */
  ipv6?: boolean;
}

export interface NginxServers {
  children: ChildProcess[];
  /** access log path per real-server role (when accessLog) */
  logs: Map<string, string>;
  /**
   * the access log lines of every server so far:
   * `proxy_addr proxy_port remote_addr "request" status bytes_sent request_length`
   */
  accessLines(): string[];
}

/** startNginx runs nginx on port 80 of every real server of `topo`; resolves once each answers. */
export async function startNginx(topo: Topology, o: NginxOptions = {}): Promise<NginxServers> {
  const work = topo.lab.tempDir('nginx');
  const children: ChildProcess[] = [];
  const logs = new Map<string, string>();
  for (const r of topo.realServers) {
    const root = join(work, `root-${r.role}`);
    mkdirSync(join(root, 'files'), { recursive: true });
    for (const [name, data] of Object.entries(o.files ?? {})) writeFileSync(join(root, 'files', name), data);
    const log = join(work, `access-${r.role}.log`);
    if (o.accessLog) logs.set(r.role, log);
    const conf = join(work, `nginx-${r.role}.conf`);
    const listens = [`listen 80 reuseport backlog=4096${o.proxyProtocol ? ' proxy_protocol' : ''};`,
      ...(o.ipv6 ? [`listen [::]:80 reuseport backlog=4096${o.proxyProtocol ? ' proxy_protocol' : ''};`] : []),
      ...(o.plainPort ? [`listen ${o.plainPort};`, ...(o.ipv6 ? [`listen [::]:${o.plainPort};`] : [])] : [])];
    writeFileSync(conf, `worker_processes 1;
# the lab's temp dir is private to root
user root;
pid ${work}/nginx-${r.role}.pid;
error_log stderr warn;
daemon off;
events { worker_connections 8192; }
http {
  log_format wlvs '$proxy_protocol_addr $proxy_protocol_port $remote_addr "$request" $status $bytes_sent $request_length';
  client_max_body_size 256m;
  ${o.accessLog ? `access_log ${log} wlvs;` : 'access_log off;'}
  server {
    ${listens.join('\n    ')}
    root ${root};
    location = / { return 200 "ok\\n"; }
    location /files/ { }${o.digestPort ? `\n    location = /digest { proxy_pass http://127.0.0.1:${o.digestPort}; }` : ''}
  }
}
`);
    children.push(topo.lab.spawn(r.role, 'nginx', ['-c', conf, '-p', work]));
    if (o.digestPort) {
      const digest = topo.lab.spawn(r.role, process.execPath, [RS_SERVER, '--name', r.role, '--port', String(o.digestPort),
        '--addr', '127.0.0.1', '--udp-port', String(o.digestPort)]);
      await waitForLine(digest, /^ready/);
      children.push(digest);
    }
  }
  // nginx forks its worker and writes its pid file once it listens
  const deadline = performance.now() + 10_000;
  for (const r of topo.realServers) {
    while (true) {
      const listening = await topo.lab.exec(r.role, 'ss', ['-Htln', 'sport = :80']).catch(() => '');
      if (listening.trim()) break;
      if (performance.now() > deadline) throw new Error(`nginx did not start on ${r.role}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return {
    children, logs,
    accessLines: () => [...logs.values()].flatMap((p) => {
      try {
        return readFileSync(p, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    }),
  };
}
