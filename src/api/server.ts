// server.ts — the admin API: JSON over HTTP on 127.0.0.1 by default. Reads are open to whoever
// can reach the socket; writes need `Authorization: Bearer <token>` with the token from the
// configured token file (no token file: no writes at all). /metrics is Prometheus text;
// /dashboard is the live dashboard (dashboard.ts), read-only like every GET.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import { WlvsError, asWlvsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ControlPlane } from '../director/control-plane.js';
import { createMetrics } from './metrics.js';
import { services, sessions, totals } from './views.js';
import { History } from './history.js';
import { dashboardData, renderPage, renderTables } from './dashboard.js';

const ASSET_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));
const ASSETS: Record<string, string> = {
  'dashboard.js': 'text/javascript', 'dashboard.css': 'text/css', 'uPlot.iife.min.js': 'text/javascript', 'uPlot.min.css': 'text/css',
};
/** at most this many live dashboards at once: each holds a connection and gets a render a second */
const MAX_EVENT_STREAMS = 32;

type Handler = (req: IncomingMessage, params: string[], body: unknown, url: URL) => Promise<unknown> | unknown;
interface Route { method: string; re: RegExp; write: boolean; handler: Handler }

const STATUS: Record<string, number> = {
  WLVS_ERR_CONFIG_INVALID: 400, WLVS_ERR_CONFIG_READ: 400, WLVS_ERR_NOT_FOUND: 404, WLVS_ERR_CONFLICT: 409,
  WLVS_ERR_UNAUTHORIZED: 401, WLVS_ERR_CAPACITY: 507, WLVS_ERR_USAGE: 400,
};

/** AdminServer serves the admin API and /metrics of one ControlPlane. */
export class AdminServer {
  #cp: ControlPlane;
  #log: Logger;
  #server: Server | null = null;
  #token: Buffer | null = null;
  #routes: Route[] = [];
  #metrics: Registry;
  /** samples the counters every second: rates of /status, /services and the dashboard's charts */
  readonly history: History;
  #streams = new Set<ServerResponse>();
  address: string | null = null;

  constructor(cp: ControlPlane, log: Logger) {
    this.#cp = cp;
    this.#log = log;
    this.#metrics = createMetrics(cp);
    this.history = new History(cp);
    const sampler = this.history;
    const r = (method: string, path: string, write: boolean, handler: Handler) =>
      this.#routes.push({ method, re: new RegExp(`^${path.replace(/:\w+/g, '([^/]+)')}$`), write, handler });
    r('GET', '/api/v1/status', false, () => ({ ...totals(cp), services: services(cp, sampler) }));
    r('GET', '/api/v1/services', false, () => services(cp, sampler));
    r('GET', '/api/v1/services/:name', false, (_q, [name]) => {
      const s = services(cp, sampler).find((x) => x.name === name);
      if (!s) throw new WlvsError('WLVS_ERR_NOT_FOUND', `no service named ${JSON.stringify(name)}`);
      return s;
    });
    r('GET', '/api/v1/sessions', false, (_q, _p, _b, url) => {
      const q = url.searchParams;
      const limit = Math.min(Math.max(Number(q.get('limit') ?? 100), 1), 10_000);
      return sessions(cp, {
        service: q.get('service') ?? undefined, realServer: q.get('real_server') ?? undefined, client: q.get('client') ?? undefined,
        state: q.get('state') ?? undefined, protocol: q.get('protocol') ?? undefined,
      }, Number(q.get('cursor') ?? 0), limit);
    });
    r('GET', '/api/v1/dashboard', false, (_q, _p, _b, url) => dashboardData(cp, this.history, Number(url.searchParams.get('since') ?? 0)));
    r('GET', '/api/v1/config', false, (_q, _p, _b, url) => (url.searchParams.get('format') === 'yaml'
      ? { yaml: cp.configYaml() } : cp.configObject()));
    r('GET', '/api/v1/cluster', false, () => {
      const c = cp.cluster();
      if (!c) throw new WlvsError('WLVS_ERR_NOT_FOUND', 'this director is not a cluster member (no director.cluster)');
      return c.view;
    });
    r('POST', '/api/v1/cluster/drain', true, (_q, _p, body) => {
      const d = obj(body).deadline;
      if (d !== undefined && (typeof d !== 'number' || !(d > 0) || d > 86400)) {
        throw new WlvsError('WLVS_ERR_USAGE', 'deadline must be a number of seconds, 0 < deadline <= 86400');
      }
      return cp.drainDirector(d as number | undefined);
    });
    r('POST', '/api/v1/cluster/resume', true, () => cp.resumeDirector());
    r('POST', '/api/v1/reload', true, () => cp.reload('api'));
    r('POST', '/api/v1/core', true, (_q, _p, body) => {
      const path = obj(body).path;
      if (typeof path !== 'string') throw new WlvsError('WLVS_ERR_USAGE', 'body must be {"path": "/path/to/core.wasm"}');
      return { swapped: path, ...cp.hotSwap(path) };
    });
    r('POST', '/api/v1/services', true, (_q, _p, body) => cp.edit({ op: 'add-service', service: obj(body) }, 'api: add service'));
    r('PUT', '/api/v1/services/:name', true, (_q, [name], body) =>
      cp.edit({ op: 'edit-service', name, patch: obj(body) }, `api: edit ${name}`));
    r('DELETE', '/api/v1/services/:name', true, (_q, [name]) => cp.edit({ op: 'delete-service', name }, `api: delete ${name}`));
    r('POST', '/api/v1/services/:name/real-servers', true, (_q, [name], body) =>
      cp.edit({ op: 'add-real-server', service: name, realServer: obj(body) }, `api: add real server to ${name}`));
    r('PUT', '/api/v1/services/:name/real-servers/:rs', true, (_q, [name, rs], body) =>
      cp.edit({ op: 'edit-real-server', service: name, key: rs, patch: obj(body) }, `api: edit ${name}/${rs}`));
    r('DELETE', '/api/v1/services/:name/real-servers/:rs', true, (_q, [name, rs]) =>
      cp.edit({ op: 'delete-real-server', service: name, key: rs }, `api: delete ${name}/${rs}`));
    r('POST', '/api/v1/services/:name/real-servers/:rs/drain', true, (_q, [name, rs]) =>
      cp.edit({ op: 'drain-real-server', service: name, key: rs }, `api: drain ${name}/${rs}`));
  }

  /** listen binds `host:port`; the token file, if any, is read once here. */
  async listen(hostPort: string, tokenFile: string | null): Promise<void> {
    if (tokenFile) this.#token = readToken(tokenFile);
    const i = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, i);
    const port = Number(hostPort.slice(i + 1));
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', (err) => reject(new WlvsError('WLVS_ERR_ADMIN_LISTEN',
        `the admin API cannot listen on ${hostPort}: ${err.message}`)));
      this.#server!.listen(port, host, () => resolve());
    });
    const a = this.#server.address();
    this.address = a && typeof a === 'object' ? `${a.address}:${a.port}` : hostPort;
    this.history.start();
  }

  async close(): Promise<void> {
    this.history.stop();
    for (const res of this.#streams) res.end();
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
  }

  /** #dashboard serves the page, its assets and its event stream; false when `url` is none of them */
  #dashboard(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname;
    if (path === '/' || path === '/dashboard/') {
      res.writeHead(302, { location: '/dashboard' }).end();
    } else if (path === '/dashboard') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(renderPage(dashboardData(this.#cp, this.history)));
    } else if (path.startsWith('/dashboard/assets/')) {
      const name = path.slice('/dashboard/assets/'.length);
      // a fixed list: no path from the URL ever reaches the file system
      if (!Object.hasOwn(ASSETS, name)) return false;
      res.writeHead(200, { 'content-type': `${ASSETS[name]}; charset=utf-8`, 'cache-control': 'max-age=3600' });
      res.end(readFileSync(`${ASSET_DIR}${name}`));
    } else if (path === '/api/v1/dashboard/events') {
      if (this.#streams.size >= MAX_EVENT_STREAMS) {
        send(res, 503, { error: { code: 'WLVS_ERR_CAPACITY', message: `at most ${MAX_EVENT_STREAMS} live dashboards` } });
        return true;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      // the first update brings what happened since the page's own fetch of /api/v1/dashboard
      let since = Number(url.searchParams.get('since') ?? this.history.lastSampleAt ?? 0);
      const push = () => {
        const d = dashboardData(this.#cp, this.history, since);
        since = this.history.lastSampleAt ?? since;
        res.write(`event: update\ndata: ${JSON.stringify({ html: renderTables(d), history: d.history })}\n\n`);
      };
      const off = this.history.onSample(push);
      this.#streams.add(res);
      req.on('close', () => {
        off();
        this.#streams.delete(res);
      });
      res.write('retry: 2000\n\n');
    } else {
      return false;
    }
    return true;
  }

  #authorized(req: IncomingMessage): boolean {
    if (!this.#token) return false;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1].trim());
    return given.length === this.#token.length && timingSafeEqual(given, this.#token);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      if (req.method === 'GET' && url.pathname === '/metrics') {
        res.setHeader('content-type', this.#metrics.contentType);
        res.end(await this.#metrics.metrics());
        return;
      }
      if (req.method === 'GET' && this.#dashboard(req, res, url)) return;
      for (const route of this.#routes) {
        const m = route.re.exec(url.pathname);
        if (!m || route.method !== req.method) continue;
        if (route.write && !this.#authorized(req)) {
          throw new WlvsError('WLVS_ERR_UNAUTHORIZED', this.#token ? 'a valid bearer token is required for changes'
            : 'changes are disabled: no token_file is configured');
        }
        const body = route.write ? await readBody(req) : undefined;
        const out = await route.handler(req, m.slice(1).map(decodeURIComponent), body, url);
        if (route.write) this.#log.info({ event: 'api_change', method: req.method, path: url.pathname }, 'change applied');
        send(res, 200, out ?? { ok: true });
        return;
      }
      send(res, 404, { error: { code: 'WLVS_ERR_NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } });
    } catch (err) {
      const e = asWlvsError(err);
      const status = STATUS[e.code] ?? 500;
      if (status === 500) this.#log.error({ err }, 'admin API error');
      send(res, status, { error: { code: e.code, message: e.message, details: e.details } });
    }
  }
}

/** readToken reads the admin token file (also checked by `wlvs check`): at least 8 characters. */
export function readToken(tokenFile: string): Buffer {
  let t: string;
  try {
    t = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    throw new WlvsError('WLVS_ERR_CONFIG_READ', `cannot read token file ${tokenFile}: ${(err as Error).message}`);
  }
  if (t.length < 8) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `token in ${tokenFile} is shorter than 8 characters`);
  return Buffer.from(t);
}

function obj(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WlvsError('WLVS_ERR_USAGE', 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) + '\n');
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      data += d;
      if (data.length > 1 << 20) {
        reject(new WlvsError('WLVS_ERR_USAGE', 'request body too large'));
        req.destroy();
      }
    });
    req.on('end', () => {
      if (!data.trim()) return resolve({});
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(new WlvsError('WLVS_ERR_USAGE', 'the request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}
