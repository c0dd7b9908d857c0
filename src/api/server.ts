// server.ts — the admin API: JSON over HTTP on 127.0.0.1 by default. Reads are open to whoever
// can reach the socket; writes need `Authorization: Bearer <token>` with the token from the
// configured token file (no token file: no writes at all). /metrics is Prometheus text.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import { WlvsError, asWlvsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ControlPlane } from '../director/control-plane.js';
import { createMetrics } from './metrics.js';
import { RateSampler, sampleRates, services, sessions, totals } from './views.js';

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
  #sampler = new RateSampler();
  #sampleTimer: NodeJS.Timeout | null = null;
  address: string | null = null;

  constructor(cp: ControlPlane, log: Logger) {
    this.#cp = cp;
    this.#log = log;
    this.#metrics = createMetrics(cp);
    const r = (method: string, path: string, write: boolean, handler: Handler) =>
      this.#routes.push({ method, re: new RegExp(`^${path.replace(/:\w+/g, '([^/]+)')}$`), write, handler });
    r('GET', '/api/v1/status', false, () => ({ ...totals(cp), services: services(cp, this.#sampler) }));
    r('GET', '/api/v1/services', false, () => services(cp, this.#sampler));
    r('GET', '/api/v1/services/:name', false, (_q, [name]) => {
      const s = services(cp, this.#sampler).find((x) => x.name === name);
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
    r('GET', '/api/v1/config', false, (_q, _p, _b, url) => (url.searchParams.get('format') === 'yaml'
      ? { yaml: cp.configYaml() } : cp.configObject()));
    r('POST', '/api/v1/reload', true, () => cp.reload('api'));
    r('POST', '/api/v1/core', true, (_q, _p, body) => {
      const path = obj(body).path;
      if (typeof path !== 'string') throw new WlvsError('WLVS_ERR_USAGE', 'body must be {"path": "/path/to/core.wasm"}');
      return { swapped: path, sessions: cp.hotSwap(path).sessions };
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
    if (tokenFile) {
      let t: string;
      try {
        t = readFileSync(tokenFile, 'utf8').trim();
      } catch (err) {
        throw new WlvsError('WLVS_ERR_CONFIG_READ', `cannot read token file ${tokenFile}: ${(err as Error).message}`);
      }
      if (t.length < 8) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `token in ${tokenFile} is shorter than 8 characters`);
      this.#token = Buffer.from(t);
    }
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
    this.#sampleTimer = setInterval(() => sampleRates(this.#cp, this.#sampler), 2000);
    this.#sampleTimer.unref();
    sampleRates(this.#cp, this.#sampler);
  }

  async close(): Promise<void> {
    if (this.#sampleTimer) clearInterval(this.#sampleTimer);
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
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
