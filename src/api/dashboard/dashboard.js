// dashboard.js — the live half of the wlvs dashboard (browser code, no build step). The server
// renders the tables (src/api/dashboard.ts) and pushes them with each history sample over
// server-sent events; this script swaps them in and draws the last minutes with uPlot, which is
// served by wlvs itself (vendored from npm at build time): the page needs no outside network.
(() => {
  'use strict';
  const KEEP = 300;
  const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  const tables = document.getElementById('tables');
  const chartsEl = document.getElementById('charts');
  const live = document.getElementById('live');
  const hist = { t: [], services: {}, drops: {}, received_pps: [], sessions: [] };

  /** append points of a series object (same shape as the server's Series) to hist */
  function merge(s) {
    const n = s.t.length;
    const before = hist.t.length;
    hist.t.push(...s.t);
    const fill = (target, key, values) => {
      if (!target[key]) target[key] = new Array(before).fill(null);
      target[key].push(...(values || new Array(n).fill(null)));
    };
    const svcKeys = new Set([...Object.keys(hist.services), ...Object.keys(s.services)]);
    for (const k of svcKeys) {
      if (!hist.services[k]) hist.services[k] = {};
      for (const m of ['cps', 'inbps', 'outbps', 'inpps', 'outpps']) fill(hist.services[k], m, s.services[k] && s.services[k][m]);
    }
    for (const k of new Set([...Object.keys(hist.drops), ...Object.keys(s.drops)])) fill(hist.drops, k, s.drops[k]);
    hist.received_pps.push(...s.received_pps);
    hist.sessions.push(...s.sessions);
    const over = hist.t.length - KEEP;
    if (over > 0) {
      hist.t.splice(0, over);
      hist.received_pps.splice(0, over);
      hist.sessions.splice(0, over);
      for (const v of Object.values(hist.services)) for (const a of Object.values(v)) a.splice(0, over);
      for (const a of Object.values(hist.drops)) a.splice(0, over);
    }
  }

  const bits = (a) => a.map((v) => (v === null ? null : v * 8));
  const CHARTS = [
    { title: 'new connections/s', series: () => Object.entries(hist.services).map(([k, v]) => [k, v.cps]) },
    { title: 'bits/s in (client to server)', series: () => Object.entries(hist.services).map(([k, v]) => [k, bits(v.inbps)]) },
    { title: 'bits/s out (server to client)', series: () => Object.entries(hist.services).map(([k, v]) => [k, bits(v.outbps)]) },
    { title: 'drops/s by reason', series: () => Object.entries(hist.drops) },
    { title: 'sessions in use', series: () => [['sessions', hist.sessions]] },
    { title: 'frames/s received', series: () => [['frames', hist.received_pps]] },
  ];
  const plots = new Map();

  function draw() {
    if (typeof uPlot === 'undefined') return;
    const width = Math.max(260, Math.min(420, Math.floor((chartsEl.clientWidth - 24) / 3) - 12));
    for (const c of CHARTS) {
      const series = c.series();
      const key = `${series.map((s) => s[0]).join('|')}@${width}`;
      const data = [hist.t, ...series.map((s) => s[1])];
      let p = plots.get(c.title);
      if (p && p.key !== key) {
        p.plot.destroy();
        p.el.remove();
        p = undefined;
      }
      if (!p) {
        const el = document.createElement('figure');
        el.className = 'chart';
        chartsEl.appendChild(el);
        const opts = {
          title: c.title, width, height: 150,
          scales: { x: { time: true } },
          series: [{}, ...series.map((s, i) => ({ label: s[0], stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true }))],
          axes: [{ space: 70, values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toTimeString().slice(0, 8)) }, { size: 56 }],
          legend: { show: series.length > 0, live: false },
        };
        p = { key, el, plot: new uPlot(opts, data, el) };
        plots.set(c.title, p);
      } else {
        p.plot.setData(data);
      }
    }
  }

  function connect() {
    // ask for what came after the last point held, also after a reconnect (no gap, no duplicate)
    const last = hist.t.length ? Math.round(hist.t[hist.t.length - 1] * 1000) : 0;
    const es = new EventSource(`/api/v1/dashboard/events?since=${last}`);
    es.addEventListener('open', () => { live.textContent = 'live'; live.className = 'live on'; });
    es.addEventListener('error', () => {
      live.textContent = 'reconnecting';
      live.className = 'live off';
      es.close();
      setTimeout(connect, 2000);
    });
    es.addEventListener('update', (ev) => {
      const u = JSON.parse(ev.data);
      tables.innerHTML = u.html;
      merge(u.history);
      draw();
    });
  }

  fetch('/api/v1/dashboard')
    .then((r) => r.json())
    .then((d) => {
      merge(d.history);
      draw();
      connect();
    })
    .catch(() => { live.textContent = 'no data'; live.className = 'live off'; });
  window.addEventListener('resize', () => draw());
})();
