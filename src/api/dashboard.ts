// dashboard.ts — the live dashboard of the admin listener, in the manner of HAProxy's stats page
// for an L4 director: its data (GET /api/v1/dashboard, and pushed by server-sent events on
// /api/v1/dashboard/events after every sample) and its HTML, rendered here once for both the
// first page load and every live update, so the page reads the same without JavaScript (plain
// tables that refresh themselves) and with it (tables swapped in place, uPlot charts of the
// History). Read-only; it sees the director only through the ControlPlane.
import type { ControlPlane, RealServerState } from '../director/control-plane.js';
import { realServerKey } from '../model/spec.js';
import { type CounterSet, type History, type Rates, type Series, ZERO_RATES, numbers } from './history.js';

export type ServerState = 'up' | 'down' | 'quiesced' | 'unresolved' | 'removed' | 'sorry' | 'standby';

export interface DashboardServer {
  address: string; port: number; forwarding: string;
  state: ServerState; health: string;
  /** ISO time of the last health transition and the probe's message, null before any */
  since: string | null; reason: string | null;
  weight: number; configured_weight: number;
  active: number; inactive: number; persistent: number;
  rates: Rates; totals: CounterSet;
}

export interface DashboardService {
  name: string; protocol: string; vip: string; port: number; scheduler: string; forwarding: string;
  state: 'up' | 'degraded' | 'down';
  servers_up: number; servers: number;
  active: number; inactive: number;
  rates: Rates; totals: CounterSet;
  real_servers: DashboardServer[];
}

export interface DashboardData {
  generated_at: string;
  uptime_s: number;
  /** failover role (director.ha), null without it */
  role: { state: string; priority: number | null } | null;
  sessions: { count: number; capacity: number; fill: number };
  totals: {
    received: number; forwarded: number; host: number; dropped: number;
    connections_created: number; connections_expired: number;
  };
  drops: { reason: string; total: number; per_s: number }[];
  services: DashboardService[];
  history: Series;
}

function serverState(r: RealServerState): ServerState {
  if (r.sorry) return 'sorry';
  if (r.counters === null) return 'removed';
  if (r.health === 'down') return 'down';
  if (!r.resolved) return 'unresolved';
  return r.weight === 0 ? 'quiesced' : 'up';
}

/** dashboardData gathers what the page shows; `since` (ms) limits the history to newer points. */
export function dashboardData(cp: ControlPlane, history: History, since = 0): DashboardData {
  const t = cp.totals();
  const dropRates = history.dropRates();
  const table = cp.sessionTable();
  const ha = cp.ha();
  const services = cp.services().map((s): DashboardService => {
    const servers = s.realServers.map((r): DashboardServer => ({
      address: r.address, port: r.port, forwarding: r.forwarding,
      state: serverState(r), health: r.sorry ? 'sorry' : r.health,
      since: r.lastChange ? new Date(r.lastChange.at).toISOString() : null, reason: r.lastChange?.reason ?? null,
      weight: r.weight, configured_weight: r.configuredWeight,
      active: r.connections.active, inactive: r.connections.inactive, persistent: r.connections.persistent,
      rates: r.counters ? history.rates(`${s.spec.name}/${realServerKey(r)}`) : ZERO_RATES,
      totals: r.counters ? numbers(r.counters) : { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 },
    }));
    const real = servers.filter((r) => r.state !== 'sorry');
    const up = real.filter((r) => r.state === 'up').length;
    // the sorry server takes traffic only while no real server can: standby until then
    for (const r of servers) if (r.state === 'sorry' && up > 0) r.state = 'standby';
    return {
      name: s.spec.name, protocol: s.spec.protocol, vip: s.spec.vip, port: s.spec.port, scheduler: s.spec.scheduler,
      forwarding: s.spec.forwarding,
      state: up === real.length && up > 0 ? 'up' : up > 0 ? 'degraded' : 'down',
      servers_up: up, servers: real.length,
      active: servers.reduce((n, r) => n + r.active, 0), inactive: servers.reduce((n, r) => n + r.inactive, 0),
      rates: history.rates(s.spec.name), totals: numbers(s.counters), real_servers: servers,
    };
  });
  const view = ha?.view as { state?: unknown; priority?: unknown } | undefined;
  return {
    generated_at: new Date().toISOString(),
    uptime_s: Math.round(cp.uptimeSeconds()),
    role: ha ? { state: String(view?.state ?? (ha.master ? 'master' : 'backup')), priority: typeof view?.priority === 'number' ? view.priority : null } : null,
    sessions: { count: table.count, capacity: table.capacity, fill: table.capacity ? table.count / table.capacity : 0 },
    totals: {
      received: Number(t.received), forwarded: Number(t.forwarded), host: Number(t.host), dropped: Number(t.dropped),
      connections_created: Number(t.connectionsCreated), connections_expired: Number(t.connectionsExpired),
    },
    drops: Object.entries(t.drops).filter(([k, v]) => v > 0n || (dropRates[k] ?? 0) > 0)
      .map(([reason, v]) => ({ reason, total: Number(v), per_s: dropRates[reason] ?? 0 })),
    services,
    history: history.series(since),
  };
}

// ── HTML ─────────────────────────────────────────────────────────────────────────────────────

const esc = (v: unknown): string => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** 1234567 -> "1.23 M": the figures operators scan, not exact counters (those are in the title) */
export function si(n: number, unit = ''): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const text = u === 0 ? (Number.isInteger(n) ? String(n) : n.toFixed(v < 10 ? 1 : 0)) : `${(Math.sign(n) * v).toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
  return unit ? `${text}${u === 0 ? ' ' : ''}${unit}` : text;
}

function ago(iso: string | null, now: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const text = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  return `${text} ago`;
}

const num = (n: number, unit = '') => `<td class="n" title="${esc(n)}">${esc(si(n, unit))}</td>`;
const rateCells = (r: Rates) => num(r.cps) + num(r.inpps) + num(r.outpps) + num(r.inbps * 8, 'b') + num(r.outbps * 8, 'b');
const totalCells = (c: CounterSet) => num(c.conns) + num(c.inpkts) + num(c.outpkts) + num(c.inbytes, 'B') + num(c.outbytes, 'B');

/** renderTables: the live part of the page (replaced as a whole on every update) */
export function renderTables(d: DashboardData): string {
  const now = Date.parse(d.generated_at);
  const out: string[] = [];
  const role = d.role ? `<span class="role role-${esc(d.role.state)}">${esc(d.role.state.toUpperCase())}</span>` +
    (d.role.priority !== null ? ` priority ${esc(d.role.priority)}` : '') : '<span class="role">standalone</span>';
  out.push(`<section class="summary" aria-label="director">
<table><tr><th>role</th><td>${role}</td><th>uptime</th><td>${esc(si(d.uptime_s))} s</td>
<th>sessions</th><td class="n" data-k="sessions">${esc(d.sessions.count)} / ${esc(d.sessions.capacity)}
 <meter min="0" max="1" value="${d.sessions.fill}">${(d.sessions.fill * 100).toFixed(1)} %</meter> ${(d.sessions.fill * 100).toFixed(1)} %</td>
<th>frames</th><td>${esc(si(d.totals.received))} in, ${esc(si(d.totals.forwarded))} forwarded, ${esc(si(d.totals.host))} host, ${esc(si(d.totals.dropped))} dropped</td>
<th>connections</th><td>${esc(si(d.totals.connections_created))} created, ${esc(si(d.totals.connections_expired))} ended</td></tr></table>
</section>`);
  out.push(`<table class="services">
<thead><tr><th rowspan="2">service / real server</th><th rowspan="2">mode</th><th rowspan="2">state</th><th rowspan="2">last change</th>
<th rowspan="2">weight</th><th colspan="2">connections</th><th colspan="5">per second</th><th colspan="5">totals</th></tr>
<tr><th>active</th><th>inactive</th><th>new</th><th>pkts in</th><th>pkts out</th><th>bits in</th><th>bits out</th>
<th>conns</th><th>pkts in</th><th>pkts out</th><th>bytes in</th><th>bytes out</th></tr></thead>`);
  for (const s of d.services) {
    out.push(`<tbody data-service="${esc(s.name)}"><tr class="svc st-${esc(s.state)}">
<th scope="row">${esc(s.name)} <small>${esc(s.protocol.toUpperCase())} ${esc(s.vip)}:${esc(s.port)} ${esc(s.scheduler)}</small></th>
<td>${esc(s.forwarding)}</td><td class="state">${esc(s.state)} <small>${s.servers_up}/${s.servers} up</small></td><td></td><td></td>
${num(s.active)}${num(s.inactive)}${rateCells(s.rates)}${totalCells(s.totals)}</tr>`);
    for (const r of s.real_servers) {
      const change = r.since ? `<span title="${esc(r.since)}">${esc(ago(r.since, now))}</span>${r.reason ? `: ${esc(r.reason)}` : ''}` : '';
      const weight = r.weight === r.configured_weight ? esc(r.weight) : `${esc(r.weight)} <small>(${esc(r.configured_weight)})</small>`;
      out.push(`<tr class="rs st-${esc(r.state)}"><td class="rsname">${esc(r.address)}:${esc(r.port)}</td><td>${esc(r.forwarding)}</td>
<td class="state">${esc(r.state)}</td><td class="change">${change}</td><td class="n">${weight}</td>
${num(r.active)}${num(r.inactive)}${rateCells(r.rates)}${totalCells(r.totals)}</tr>`);
    }
    out.push('</tbody>');
  }
  out.push('</table>');
  out.push(`<table class="drops"><caption>drops by reason</caption><thead><tr><th>reason</th><th>per second</th><th>total</th></tr></thead><tbody>${
    d.drops.length ? d.drops.map((x) => `<tr><th scope="row">${esc(x.reason)}</th>${num(x.per_s)}${num(x.total)}</tr>`).join('')
      : '<tr><td colspan="3">none</td></tr>'}</tbody></table>`);
  out.push(`<p class="stamp">updated <time datetime="${esc(d.generated_at)}">${esc(d.generated_at.replace('T', ' ').slice(0, 19))} UTC</time></p>`);
  return out.join('\n');
}

/** renderPage: the whole document; without JavaScript it refreshes itself every 5 s */
export function renderPage(d: DashboardData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wlvs director</title>
<noscript><meta http-equiv="refresh" content="5"></noscript>
<link rel="stylesheet" href="/dashboard/assets/uPlot.min.css"><link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<link rel="icon" href="data:,">
</head><body>
<header><h1>wlvs director</h1><span id="live" class="live">static</span></header>
<section id="charts" class="charts" aria-label="last minutes"></section>
<main id="tables">
${renderTables(d)}
</main>
<footer>read-only; JSON: <a href="/api/v1/dashboard">/api/v1/dashboard</a>, Prometheus: <a href="/metrics">/metrics</a></footer>
<script src="/dashboard/assets/uPlot.iife.min.js"></script>
<script src="/dashboard/assets/dashboard.js"></script>
</body></html>
`;
}
