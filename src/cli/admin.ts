// admin.ts — the CLI commands that talk to a running director through its admin API, with
// ipvsadm's columns so operators feel at home: status (-Ln, --stats, --rate), conns (-Lnc),
// add/edit/del of services and real servers, drain, reload. Each takes --json.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WlvsError, isErrorCode } from '../errors.js';
import type { Rates, ServiceStatus } from '../api/views.js';
import { hostPort, splitHostPort } from '../model/address.js';
import type { SynFloodView } from '../director/control-plane.js';
import { type ClusterStatus, formatCluster } from './cluster.js';

const FORWARD_NAMES: Record<string, string> = { nat: 'Masq', dr: 'Route', tun: 'Tunnel', fullnat: 'FullNat' };

export async function fetchJson(url: string,
  opts: { method?: string; body?: unknown; token?: string | null } = {}): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? 'GET',
      headers: {
        'content-type': 'application/json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch (err) {
    throw new WlvsError('WLVS_ERR_USAGE', `cannot reach the admin API at ${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) {
    // a code this build does not know (another version answering) still reaches the user, in the message
    const code = json.error?.code;
    const message = json.error?.message ?? `HTTP ${res.status}`;
    throw isErrorCode(code) ? new WlvsError(code, message) : new WlvsError('WLVS_ERR_INTERNAL', code ? `${code}: ${message}` : message);
  }
  return json;
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const rpad = (s: string | number, n: number) => String(s).padStart(n);

function human(n: number): string {
  if (n < 10_000) return String(Math.round(n));
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 100 ? 1 : 0)}${units[u]}`;
}

/** formatStatus prints services and real servers like `ipvsadm -Ln` (or --stats / --rate). */
export function formatStatus(status: {
  services: ServiceStatus[]; sessions?: { count: number; capacity: number };
  ha?: { state: string; priority: number } | null;
  cluster?: ClusterStatus | null;
  syn_flood?: SynFloodView;
  workers?: { rx_frames: number; tx_frames: number; batches: number }[];
  io_engine?: string;
  table_lock?: { waits: number; sleeps: number };
  devices?: { name: string; steering?: string }[];
}, opts: { stats?: boolean; rate?: boolean } = {}): string {
  const lines: string[] = [];
  const size = status.sessions ? ` (sessions=${status.sessions.count}/${status.sessions.capacity})` : '';
  const ha = status.ha ? ` ${status.ha.state.toUpperCase()} (priority ${status.ha.priority})` : '';
  lines.push(`wlvs${size}${ha}`);
  // frames read per worker: a worker at 0 while the others carry traffic means its queue gets nothing
  if (status.workers) {
    const steering = [...new Set((status.devices ?? []).map((d) => d.steering).filter((x) => x))];
    const by = steering.length ? `, queues by ${steering.join('; ')}` : '';
    // how often the shared table made a worker wait: many (and many slept) says fewer workers would do as well
    const l = status.table_lock;
    const lock = status.workers.length > 1 && l ? `, table lock waits ${l.waits} (${l.sleeps} sleeps)` : '';
    const io = status.io_engine ? `, on ${status.io_engine}` : '';
    lines.push(`workers: ${status.workers.length}${io} (packets in: ${status.workers.map((w, i) => `${i}=${w.rx_frames}`).join(' ')})${by}${lock}`);
  }
  if (status.cluster) lines.push(...formatCluster(status.cluster));
  const sf = status.syn_flood;
  if (sf) {
    lines.push(`SYN flood: embryonic ${sf.embryonic.count}/${sf.embryonic.max}, evicted ${sf.evicted}, SYNs ${sf.syns}, ` +
      `cookies sent ${sf.cookies.sent} valid ${sf.cookies.valid} invalid ${sf.cookies.invalid}` +
      (sf.cookieKeys === 'shared' ? ' (keys shared with the sync peers)' : ''));
  }
  const protection = new Map((sf?.services ?? []).map((p) => [p.service, p]));
  if (opts.stats || opts.rate) {
    const cols = opts.stats ? ['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'] : ['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'];
    lines.push(`${pad('Prot LocalAddress:Port', 34)}${cols.map((c) => rpad(c, 9)).join('')}`);
    lines.push('  -> RemoteAddress:Port');
    const row = (s: { stats: ServiceStatus['stats']; rates: Rates }) => (opts.stats
      ? [s.stats.conns, s.stats.inpkts, s.stats.outpkts, s.stats.inbytes, s.stats.outbytes]
      : [s.rates.cps, s.rates.inpps, s.rates.outpps, s.rates.inbps, s.rates.outbps]).map((v) => rpad(human(v), 9)).join('');
    for (const s of status.services) {
      lines.push(`${pad(`${s.protocol.toUpperCase()}  ${hostPort(s.vip, s.port)}`, 34)}${row(s)}`);
      for (const r of s.real_servers) lines.push(`${pad(`  -> ${hostPort(r.address, r.port)}`, 34)}${row(r)}`);
    }
    return lines.join('\n');
  }
  lines.push('Prot LocalAddress:Port Scheduler Flags');
  lines.push(`  -> ${pad('RemoteAddress:Port', 30)}${pad('Forward', 8)}${pad('Weight', 7)}${pad('ActiveConn', 11)}${pad('InActConn', 10)}Health`);
  for (const s of status.services) {
    const flags = s.persistence ? ` persistent ${s.persistence}${s.persistence_netmask !== 32 ? ` mask ${s.persistence_netmask}` : ''}` : '';
    const p = protection.get(s.name);
    const syn = p && p.mode !== 'off' ? `  syn-proxy ${p.state}${p.reason ? ` (${p.reason}, ${p.synRate} SYN/s)` : ''}` : '';
    lines.push(`${s.protocol.toUpperCase()}  ${hostPort(s.vip, s.port)} ${s.scheduler}${flags}  (${s.name})${syn}`);
    for (const r of s.real_servers) {
      const health = r.sorry ? 'sorry' : r.resolved ? r.health : `${r.health}, unresolved`;
      lines.push(`  -> ${pad(hostPort(r.address, r.port), 30)}${pad(FORWARD_NAMES[r.forwarding] ?? r.forwarding, 8)}` +
        `${pad(r.weight, 7)}${pad(r.active, 11)}${pad(r.inactive, 10)}${health}`);
    }
  }
  return lines.join('\n');
}

interface ConnRow {
  protocol: string; state: string; client: string; client_port: number; vip: string; vport: number; rip: string;
  rport: number; lip: string | null; lport: number | null; expires_in_s: number; template: boolean;
}

/** formatConns prints sessions like `ipvsadm -Lnc` (plus the local address of Full-NAT). */
function formatConns(items: ConnRow[]): string {
  const lines = ['wlvs connection entries', `pro expire ${pad('state', 12)}${pad('source', 22)} ${pad('virtual', 22)} ${pad('destination', 22)} local`];
  for (const c of items) {
    const m = Math.floor(c.expires_in_s / 60);
    const expire = `${String(m).padStart(2, '0')}:${String(c.expires_in_s % 60).padStart(2, '0')}`;
    lines.push(`${pad(c.protocol.toUpperCase(), 4)}${pad(expire, 7)}${pad(c.template ? 'TEMPLATE' : c.state, 12)}` +
      `${pad(hostPort(c.client, c.client_port), 22)} ${pad(hostPort(c.vip, c.vport), 22)} ${pad(hostPort(c.rip, c.rport), 22)} ` +
      `${c.lip ? hostPort(c.lip, c.lport ?? 0) : ''}`);
  }
  return lines.join('\n');
}

export function token(file: string | undefined): string | null {
  const f = file ?? process.env.WLVS_TOKEN_FILE;
  if (!f) return null;
  try {
    return readFileSync(f, 'utf8').trim();
  } catch (err) {
    throw new WlvsError('WLVS_ERR_USAGE', `cannot read token file ${f}: ${(err as Error).message}`);
  }
}

function parseRealServer(text: string | undefined): { address: string; port: number } {
  // 10.0.0.1, 10.0.0.1:80, 2001:db8::1, [2001:db8::1]:80 (as ipvsadm -Ln prints them)
  const m = splitHostPort(text ?? '');
  if (!m) throw new WlvsError('WLVS_ERR_USAGE', `expected ADDRESS[:PORT] or [IPV6]:PORT, got ${JSON.stringify(text)}`);
  return { address: m.address, port: m.port ?? -1 };
}

const COMMON = {
  api: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean', default: false },
} as const;

/** adminCommand runs status, conns, add, edit, del, drain or reload against the admin API. */
export async function adminCommand(cmd: string, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      ...COMMON, stats: { type: 'boolean', default: false }, rate: { type: 'boolean', default: false },
      service: { type: 'string' }, client: { type: 'string' }, state: { type: 'string' }, 'real-server': { type: 'string' },
      limit: { type: 'string' }, cursor: { type: 'string' },
      name: { type: 'string' }, vip: { type: 'string' }, port: { type: 'string' }, protocol: { type: 'string' },
      scheduler: { type: 'string' }, forwarding: { type: 'string' }, persistence: { type: 'string' },
      weight: { type: 'string' }, 'upper-threshold': { type: 'string' },
    },
  });
  const api = (values.api ?? process.env.WLVS_API ?? 'http://127.0.0.1:9180').replace(/\/$/, '');
  const tok = () => token(values['token-file']);
  const out = (json: unknown, text: () => string) => console.log(values.json ? JSON.stringify(json, null, 2) : text());
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([,
    v]) => v !== undefined));
  const svcFields = () => defined({
    name: values.name, vip: values.vip, port: num(values.port), protocol: values.protocol, scheduler: values.scheduler,
    forwarding: values.forwarding, persistence: num(values.persistence),
  });
  const rsFields = (rs: { address: string; port: number }) => defined({
    address: rs.address, port: rs.port >= 0 ? rs.port : undefined, weight: num(values.weight),
      forwarding: values.forwarding,
    upper_threshold: num(values['upper-threshold']),
  });
  const rsKey = (rs: { address: string; port: number }) => (rs.port >= 0 ? hostPort(rs.address, rs.port) : rs.address);
  const change = async (method: string, path: string, body?: unknown) => {
    const r = await fetchJson(`${api}${path}`, { method, body, token: tok() });
    out(r, () => summary(r as Record<string, string[]>));
  };
  switch (cmd) {
    case 'status': {
      const s = await fetchJson(`${api}/api/v1/status`);
      return out(s, () => formatStatus(s as Parameters<typeof formatStatus>[0], { stats: values.stats,
        rate: values.rate }));
    }
    case 'conns': {
      const q = new URLSearchParams(defined({
        service: values.service, client: values.client, state: values.state, real_server: values['real-server'],
        limit: values.limit ?? '1000', cursor: values.cursor,
      }) as Record<string, string>);
      const s = await fetchJson(`${api}/api/v1/sessions?${q}`) as { items: ConnRow[]; next: number | null };
      return out(s, () => formatConns(s.items) + (s.next !== null ? `\n(more: --cursor ${s.next})` : ''));
    }
    case 'reload':
      return change('POST', '/api/v1/reload');
    case 'hot-swap': {
      if (!positionals[0]) throw new WlvsError('WLVS_ERR_USAGE', 'usage: wlvs hot-swap CORE.wasm');
      const r = await fetchJson(`${api}/api/v1/core`, { method: 'POST', body: { path: positionals[0] }, token: tok() });
      return out(r, () => `core replaced by ${positionals[0]}; ${(r as { sessions: number }).sessions} sessions kept`);
    }
    case 'drain': {
      const [service, rs] = positionals;
      if (!service || !rs) throw new WlvsError('WLVS_ERR_USAGE', 'usage: wlvs drain SERVICE ADDRESS[:PORT]');
      return change('POST', `/api/v1/services/${encodeURIComponent(service)}/real-servers/${encodeURIComponent(rsKey(parseRealServer(rs)))}/drain`);
    }
    case 'add': case 'edit': case 'del': {
      const [what, first, second] = positionals;
      if (what === 'service') {
        if (cmd === 'add') return change('POST', '/api/v1/services', svcFields());
        if (!first) throw new WlvsError('WLVS_ERR_USAGE', `usage: wlvs ${cmd} service NAME [options]`);
        const path = `/api/v1/services/${encodeURIComponent(first)}`;
        return cmd === 'edit' ? change('PUT', path, svcFields()) : change('DELETE', path);
      }
      if (what === 'real-server') {
        if (!first || !second) throw new WlvsError('WLVS_ERR_USAGE', `usage: wlvs ${cmd} real-server SERVICE ADDRESS[:PORT] [--weight W]`);
        const rs = parseRealServer(second);
        const base = `/api/v1/services/${encodeURIComponent(first)}/real-servers`;
        if (cmd === 'add') return change('POST', base, rsFields(rs));
        const path = `${base}/${encodeURIComponent(rsKey(rs))}`;
        return cmd === 'edit' ? change('PUT', path, rsFields({ ...rs, port: -1 })) : change('DELETE', path);
      }
      throw new WlvsError('WLVS_ERR_USAGE', `usage: wlvs ${cmd} service|real-server ...`);
    }
    default:
      throw new WlvsError('WLVS_ERR_USAGE', `unknown admin command ${cmd}`);
  }
}

function summary(report: Record<string, string[]>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(report)) if (Array.isArray(v) && v.length) parts.push(`${k}: ${v.join(', ')}`);
  return parts.length ? parts.join('\n') : 'no change';
}
