// The dashboard over a stub ControlPlane: the History's rates and series (from counters that
// move by known amounts at known times), the data endpoint (states, last change and reason,
// role, session fill, drops), the HTML with and without JavaScript (tables, escaping, assets
// served from the package, nothing else from the file system) and the server-sent updates.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { pino } from 'pino';
import { AdminServer } from '../../src/api/server.js';
import { History } from '../../src/api/history.js';
import { dashboardData, renderPage, si } from '../../src/api/dashboard.js';
import type { ControlPlane, DataPathTotals } from '../../src/director/control-plane.js';
import { counters, stub, type Stub } from './stub.js';

const T0 = Date.UTC(2026, 11, 1, 12, 10, 0);

/** a stub whose totals can be changed too (drops by reason, frames) */
function movable(): { s: Stub; cp: ControlPlane; totals: DataPathTotals } {
  const s = stub();
  const totals = { ...s.cp.totals(), drops: { ...s.cp.totals().drops } };
  return { s, totals, cp: { ...s.cp, totals: () => totals } };
}

describe('dashboard History', () => {
  it('turns counter samples into per-second rates and series, per service and real server', () => {
    const { s, cp, totals } = movable();
    const h = new History(cp, { capacity: 4 });
    h.sample(T0);
    s.services[0].counters = counters(17); // +10 conns, +100 in packets, +10000 in bytes
    s.services[0].realServers[0].counters = counters(9); // +4
    totals.drops.no_service += 20n;
    totals.received += 500n;
    h.sample(T0 + 2000);
    assert.deepEqual(h.rates('web'), { cps: 5, inpps: 50, outpps: 40, inbps: 5000, outbps: 4000 });
    assert.deepEqual(h.rates('web/10.0.2.11:8080'), { cps: 2, inpps: 20, outpps: 16, inbps: 2000, outbps: 1600 });
    assert.deepEqual(h.rates('web/10.0.2.14:8080'), { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 }, 'no table slot');
    assert.equal(h.dropRates().no_service, 10);
    const series = h.series();
    assert.deepEqual(series.t, [(T0 + 2000) / 1000]);
    assert.deepEqual(series.services.web.cps, [5]);
    assert.deepEqual(series.drops, { no_service: [10] }, 'only reasons that dropped something');
    assert.deepEqual(series.received_pps, [250]);
    assert.deepEqual(series.sessions, [3]);
    h.sample(T0 + 3000);
    assert.deepEqual(h.series(T0 + 2000).t, [(T0 + 3000) / 1000], 'since: only newer points');
    assert.deepEqual(h.series().services.web.cps, [5, 0]);
    for (let i = 4; i < 10; i++) h.sample(T0 + i * 1000);
    assert.equal(h.series().t.length, 3, 'a ring of 4 samples: 3 intervals');
  });

  it('a counter that goes back (a reused slot after a reload) reads as 0, never negative', () => {
    const { s, cp } = movable();
    const h = new History(cp);
    h.sample(T0);
    s.services[0].counters = counters(1);
    h.sample(T0 + 1000);
    assert.equal(h.rates('web').cps, 0);
  });
});

describe('dashboard data and page', () => {
  it('shows each server\'s state, health change and reason, weights, connections; the service\'s summary', () => {
    const { cp } = movable();
    const h = new History(cp);
    h.sample(T0);
    const d = dashboardData(cp, h);
    assert.deepEqual(d.role, { state: 'master', priority: 150 });
    assert.deepEqual(d.sessions, { count: 3, capacity: 1024, fill: 3 / 1024 });
    assert.deepEqual(d.drops.map((x) => [x.reason, x.total]), [['malformed', 2], ['no_service', 4]]);
    const [web] = d.services;
    assert.deepEqual([web.state, web.servers_up, web.servers, web.active, web.inactive], ['degraded', 1, 3, 3, 4]);
    const rows = web.real_servers.map((r) => [r.address, r.state, r.since, r.reason, r.weight, r.configured_weight]);
    assert.deepEqual(rows, [
      ['10.0.2.11', 'up', null, null, 2, 2],
      ['10.0.2.12', 'down', '2026-12-01T12:00:00.000Z', 'connect ECONNREFUSED 10.0.2.12:8080', 0, 1],
      ['10.0.2.14', 'removed', '2026-12-01T12:00:05.000Z', 'timeout', 0, 1],
      ['10.0.2.15', 'standby', null, null, 1, 1],
    ]);
    assert.deepEqual(web.totals, { conns: 7, inpkts: 70, outpkts: 56, inbytes: 7000, outbytes: 5600 });
  });

  it('renders readable tables without JavaScript: every server a row, names escaped, a self-refresh', () => {
    const { s, cp } = movable();
    s.services[0] = { ...s.services[0], spec: { ...s.services[0].spec, name: '<b>web</b>' } };
    const h = new History(cp);
    h.sample(T0);
    const html = renderPage(dashboardData(cp, h));
    assert.match(html, /<noscript><meta http-equiv="refresh" content="5"><\/noscript>/);
    assert.ok(!html.includes('<b>web</b>'), 'names are escaped');
    assert.match(html, /&#60;b&#62;web&#60;\/b&#62;/);
    assert.equal(html.match(/<tr class="rs /g)?.length, 4);
    assert.match(html, /<tr class="rs st-down">.*10\.0\.2\.12:8080.*\n.*connect ECONNREFUSED/);
    assert.match(html, /<script src="\/dashboard\/assets\/uPlot\.iife\.min\.js"><\/script>/);
    assert.ok(!/https?:\/\/(?!www\.w3)/.test(html.replace(/href="\/[^"]*"/g, '')), 'no outside address in the page');
  });

  it('prints figures as an operator scans them', () => {
    assert.deepEqual([si(0), si(999), si(1234), si(12_345_678, 'b'), si(2.5)], ['0', '999', '1.23 k', '12.3 Mb', '2.5']);
  });
});

describe('dashboard over HTTP', () => {
  let s: Stub;
  let api: AdminServer;
  let base: string;
  before(async () => {
    s = stub();
    api = new AdminServer(s.cp, pino({ level: 'silent' }));
    await api.listen('127.0.0.1:0', null);
    base = `http://${api.address}`;
  });
  after(() => api.close());

  it('GET /api/v1/dashboard without a token; ?since limits the history', async () => {
    api.history.sample(Date.now() + 1000);
    const r = await fetch(`${base}/api/v1/dashboard`);
    assert.equal(r.status, 200);
    const d = await r.json() as ReturnType<typeof dashboardData>;
    assert.equal(d.services[0].name, 'web');
    assert.equal(d.history.t.length, 1);
    const later = await (await fetch(`${base}/api/v1/dashboard?since=${Date.now() + 5000}`)).json() as ReturnType<typeof dashboardData>;
    assert.equal(later.history.t.length, 0);
  });

  it('serves the page, its own assets (uPlot vendored from the package) and nothing else', async () => {
    const page = await fetch(`${base}/dashboard`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.equal((await fetch(`${base}/`, { redirect: 'manual' })).headers.get('location'), '/dashboard');
    for (const [name, type] of [['uPlot.iife.min.js', 'text/javascript'], ['dashboard.js', 'text/javascript'], ['dashboard.css', 'text/css'],
      ['uPlot.min.css', 'text/css']]) {
      const a = await fetch(`${base}/dashboard/assets/${name}`);
      assert.equal(a.status, 200, name);
      assert.match(a.headers.get('content-type')!, new RegExp(`^${type}`));
      assert.ok((await a.text()).length > 500, name);
    }
    const js = await (await fetch(`${base}/dashboard/assets/uPlot.iife.min.js`)).text();
    assert.match(js, /uPlot/);
    for (const bad of ['../server.js', '..%2fserver.js', 'uPlot.LICENSE', 'x.js']) {
      assert.equal((await fetch(`${base}/dashboard/assets/${bad}`)).status, 404, bad);
    }
  });

  it('pushes an update (tables and new history points) after every sample, over server-sent events', async () => {
    const events: string[] = [];
    const req = request(`${base}/api/v1/dashboard/events?since=${Date.now() + 10_000}`);
    const got = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          if (buf.includes('retry:') && events.length === 0 && !buf.includes('event: update')) {
            s.services[0].counters = counters(27);
            api.history.sample(Date.now() + 20_000);
          }
          const m = /event: update\ndata: (.*)\n\n/.exec(buf);
          if (m) {
            events.push(m[1]);
            resolve();
          }
        });
      });
    });
    req.end();
    await got;
    req.destroy();
    const u = JSON.parse(events[0]);
    assert.match(u.html, /<table class="services">/);
    assert.equal(u.history.t.length, 1, 'only the point after ?since');
    assert.ok(u.history.services.web.cps[0] > 0);
  });
});
