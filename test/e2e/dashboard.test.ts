// The dashboard in headless Chromium (Debian's, driven by puppeteer-core, inside the director's
// namespace where the admin API listens): over a running NAT-over-TAP lab the page loads with no
// console error or failed request, shows the lab's services and real servers, goes live, and its
// figures and charts move while HTTP requests go through the VIP. A screenshot is kept in the
// test's output directory (its path is printed; WLVS_DASHBOARD_SHOT overrides it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import { LAB_VIP_TAP, type RunningDirector, labConfig, rsGatewayFor, startDirector, startRealServers } from '../../src/lab/lab-director.js';
import { type OpenBrowser, openBrowser } from './lib/browser.js';
import { sleep } from './lib.js';

describe('dashboard in a browser', { timeout: 180_000 }, () => {
  let topo: Topology;
  let dir: RunningDirector;
  let b: OpenBrowser;
  const out = mkdtempSync(join(tmpdir(), 'wlvs-dashboard-test-'));

  before(async () => {
    topo = await buildTopology({ rsGateway: rsGatewayFor('nat', 'tap'), tag: 'wb' });
    await startRealServers(topo, { forwarding: 'nat', vip: LAB_VIP_TAP });
    dir = await startDirector(topo, (token) => labConfig(topo, 'tap', { forwarding: 'nat', scheduler: 'wrr', weights: [1, 2, 1] }, token));
    b = await openBrowser(topo.lab.ns(topo.director.role));
    await b.page.setViewport({ width: 1500, height: 1000 });
  });
  after(async () => {
    await b?.close();
    await topo?.lab.destroy();
  });

  /** the service row's total connections, as the page shows it (exact value in the cell's title) */
  const conns = () => b.page.$eval('tbody[data-service="web"] tr.svc td:nth-last-child(5)', (td) => Number(td.getAttribute('title')));

  it('loads without errors, shows the lab\'s services and servers, goes live, and moves under traffic', async () => {
    const res = await b.page.goto(`${dir.adminUrl}/dashboard`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    await b.page.waitForFunction('document.getElementById("live")?.textContent === "live"', { timeout: 15_000 });
    const services = await b.page.$$eval('tbody[data-service]', (els) => els.map((e) => e.getAttribute('data-service')));
    assert.deepEqual(services, ['web', 'iperf', 'echo']);
    const servers = await b.page.$$eval('tbody[data-service="web"] tr.rs td.rsname', (els) => els.map((e) => e.textContent));
    assert.deepEqual(servers, topo.realServers.map((r) => `${r.address}:80`));
    assert.equal(await b.page.$$eval('.chart canvas', (c) => c.length), 6, 'six uPlot charts');
    const before = await conns();
    // bounded traffic: 40 requests through the VIP over ~4 s
    for (let i = 0; i < 40; i++) {
      await topo.lab.exec(topo.client.role, 'curl', ['-s', '-o', '/dev/null', '--max-time', '3', `http://${LAB_VIP_TAP}/`]);
      await sleep(100);
    }
    // the page updates itself (no reload): wait for the pushed tables to show the requests
    await b.page.waitForFunction(
      `Number(document.querySelector('tbody[data-service="web"] tr.svc td:nth-last-child(5)')?.getAttribute('title')) >= ${before + 40}`,
      { timeout: 10_000 });
    const shown = await b.page.$$eval('tbody[data-service="web"] tr.rs', (rows) => rows.map((r) => r.className));
    assert.deepEqual(shown, ['rs st-up', 'rs st-up', 'rs st-up']);
    // the chart of new connections/s saw them: its series has a point above 0
    const peak = await b.page.evaluate(async () => {
      const d = await (await fetch('/api/v1/dashboard')).json() as { history: { services: Record<string, { cps: number[] }> } };
      return Math.max(...d.history.services.web.cps);
    });
    assert.ok(peak > 0, `connections/s peak ${peak}`);
    await sleep(1500);
    const shot = process.env.WLVS_DASHBOARD_SHOT ?? join(out, 'dashboard.png');
    await b.page.screenshot({ path: shot, fullPage: true });
    console.log(`# dashboard screenshot: ${shot}`);
    assert.deepEqual(b.errors, [], 'no console errors, no failed requests');
  });
});
