// server.ts — the admin API: JSON over HTTP on 127.0.0.1 by default. Reads are open to whoever
// can reach the socket; writes need `Authorization: Bearer <token>` with the token from the
// configured token file (no token file: no writes at all). /metrics is Prometheus text.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import { WlvsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Supervisor } from '../director/supervisor.js';
import {
  addRealServer, addService, deleteRealServer, deleteService, drainRealServer, editRealServer, editService,
} from '../director/edits.js';
import { configObject, toYaml } from '../config/to-yaml.js';
import { createMetrics } from './metrics.js';
import { RateSampler, sampleRates, services, sessions, totals } from './views.js';

type Handler = (req: IncomingMessage, params: string[], body: unknown, url: URL) => Promise<unknown> | unknown;
interface Route { method: string; re: RegExp; write: boolean; handler: Handler }

const STATUS: Record<string, number> = {
  WLVS_ERR_CONFIG_INVALID: 400, WLVS_ERR_CONFIG_READ: 400, WLVS_ERR_NOT_FOUND: 404, WLVS_ERR_CONFLICT: 409,
  WLVS_ERR_UNAUTHORIZED: 401, WLVS_ERR_CAPACITY: 507, WLVS_ERR_USAGE: 400,
};

export class AdminServer {
  #sup: Supervisor;
  #log: Logger;
  #server: Server | null = null;
  #token: Buffer | null = null;
  #routes: Route[] = [];
  #metrics: Registry;
  #sampler = new RateSampler();
  #sampleTimer: NodeJS.Timeout | null = null;
  address: string | null = null;

  constructor(sup: Supervisor, log: Logger) {
    this.#sup = sup;
    this.#log = log;
    this.#metrics = createMetrics(sup);
    const r = (method: string, path: string, write: boolean, handler: Handler) =>
      this.#routes.push({ method, re: new RegExp(`^${path.replace(/:\w+/g, '([^/]+)')}$`), write, handler });
    r('GET', '/api/v1/status', false, () => ({ ...totals(sup), services: services(sup, this.#sampler) }));
    r('GET', '/api/v1/services', false, () => services(sup, this.#sampler));
    r('GET', '/api/v1/services/:name', false, (_q, [name]) => {
      const s = services(sup, this.#sampler).find((x) => x.name === name);
      if (!s) throw new WlvsError('WLVS_ERR_NOT_FOUND', `no service named ${JSON.stringify(name)}`);
      return s;
    });
    r('GET', '/api/v1/sessions', false, (_q, _p, _b, url) => {
      const q = url.searchParams;
      const limit = Math.min(Math.max(Number(q.get('limit') ?? 100), 1), 10_000);
      return sessions(sup, {
        service: q.get('service') ?? undefined, realServer: q.get('real_server') ?? undefined, client: q.get('client') ?? undefined,
        state: q.get('state') ?? undefined, protocol: q.get('protocol') ?? undefined,
      }, Number(q.get('cursor') ?? 0), limit);
    });
    r('GET', '/api/v1/config', false, (_q, _p, _b, url) => (url.searchParams.get('format') === 'yaml'
      ? { yaml: toYaml(sup.director.spec) } : configObject(sup.director.spec)));
    const cluster = () => {
      const c = sup.director.cluster;
      if (!c) throw new WlvsError('WLVS_ERR_NOT_FOUND', 'this director is not a cluster member (no director.cluster)');
      return c;
    };
    r('GET', '/api/v1/cluster', false, () => cluster().view());
    r('POST', '/api/v1/cluster/drain', true, (_q, _p, body) => {
      const d = obj(body).deadline;
      if (d !== undefined && (typeof d !== 'number' || !(d > 0) || d > 86400)) {
        throw new WlvsError('WLVS_ERR_USAGE', 'deadline must be a number of seconds, 0 < deadline <= 86400');
      }
      return cluster().drain(d as number | undefined);
    });
    r('POST', '/api/v1/cluster/resume', true, () => cluster().resume());
    r('POST', '/api/v1/reload', true, () => sup.reload('api'));
    r('POST', '/api/v1/core', true, (_q, _p, body) => {
      const path = obj(body).path;
      if (typeof path !== 'string') throw new WlvsError('WLVS_ERR_USAGE', 'body must be {"path": "/path/to/core.wasm"}');
      sup.director.hotSwap(path);
      return { swapped: path, sessions: sup.director.tables.sessionCount() };
    });
    r('POST', '/api/v1/services', true, (_q, _p, body) => sup.edit((s) => addService(s, obj(body)), 'api: add service'));
    r('PUT', '/api/v1/services/:name', true, (_q, [name], body) => sup.edit((s) => editService(s, name, obj(body)), `api: edit ${name}`));
    r('DELETE', '/api/v1/services/:name', true, (_q, [name]) => sup.edit((s) => deleteService(s, name), `api: delete ${name}`));
    r('POST', '/api/v1/services/:name/real-servers', true, (_q, [name], body) =>
      sup.edit((s) => addRealServer(s, name, obj(body)), `api: add real server to ${name}`));
    r('PUT', '/api/v1/services/:name/real-servers/:rs', true, (_q, [name, rs], body) =>
      sup.edit((s) => editRealServer(s, name, rs, obj(body)), `api: edit ${name}/${rs}`));
    r('DELETE', '/api/v1/services/:name/real-servers/:rs', true, (_q, [name, rs]) =>
      sup.edit((s) => deleteRealServer(s, name, rs), `api: delete ${name}/${rs}`));
    r('POST', '/api/v1/services/:name/real-servers/:rs/drain', true, (_q, [name, rs]) =>
      sup.edit((s) => drainRealServer(s, name, rs), `api: drain ${name}/${rs}`));
  }

  /** listen binds `host:port`; the token file, if any, is read once here. */
  async listen(hostPort: string, tokenFile: string | null): Promise<void> {
    if (tokenFile) {
      const t = readFileSync(tokenFile, 'utf8').trim();
      if (t.length < 8) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `token in ${tokenFile} is shorter than 8 characters`);
      this.#token = Buffer.from(t);
    }
    const i = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, i);
    const port = Number(hostPort.slice(i + 1));
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(port, host, () => resolve());
    });
    const a = this.#server.address();
    this.address = a && typeof a === 'object' ? `${a.address}:${a.port}` : hostPort;
    this.#sampleTimer = setInterval(() => sampleRates(this.#sup, this.#sampler), 2000);
    this.#sampleTimer.unref();
    sampleRates(this.#sup, this.#sampler);
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
      const code = WlvsError.is(err) ? err.code : 'WLVS_ERR_INTERNAL';
      const status = STATUS[code] ?? 500;
      if (status === 500) this.#log.error({ err }, 'admin API error');
      send(res, status, { error: { code, message: (err as Error).message, details: WlvsError.is(err) ? err.details : undefined } });
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
