// The Grafana dashboard in packaging/grafana/ queries only metrics that exist: every wlvs_* name
// in its expressions (and its template variables) is registered by src/api/metrics.ts, with the
// _bucket/_sum/_count series of histograms; every label it groups by exists on that metric.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createMetrics } from '../../src/api/metrics.js';
import { stub } from '../api/stub.js';

const DASHBOARD = JSON.parse(readFileSync(new URL('../../../packaging/grafana/wlvs-dashboard.json', import.meta.url), 'utf8'));

interface Panel { title: string; type: string; targets?: { expr: string }[]; panels?: Panel[] }
const panels = (DASHBOARD.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
  ...(DASHBOARD.templating.list as { name: string; definition?: string }[])
    .filter((v) => v.definition).map((v) => ({ where: `variable ${v.name}`, expr: v.definition! })),
];

describe('packaging/grafana/wlvs-dashboard.json', () => {
  const reg = createMetrics(stub().cp);

  it('uses only registered metric names', async () => {
    const known = new Map<string, Set<string>>();
    for (const m of await reg.getMetricsAsJSON()) {
      const labels = new Set(m.values.flatMap((v) => Object.keys(v.labels)));
      for (const suffix of String(m.type) === 'histogram' ? ['_bucket', '_sum', '_count'] : ['']) known.set(m.name + suffix, labels);
    }
    assert.ok(exprs.length > 20, `${exprs.length} expressions`);
    for (const { where, expr } of exprs) {
      const names = expr.match(/\bwlvs_[a-z0-9_]+/g) ?? [];
      assert.ok(names.length > 0, `${where}: no wlvs metric in ${expr}`);
      for (const n of names) assert.ok(known.has(n), `${where}: ${n} is not a metric wlvs registers`);
      // `by (a, b)` must name labels of the metric (or le of a histogram, or the scrape's instance)
      for (const by of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        for (const label of by[1].split(',').map((s) => s.trim())) {
          const ok = label === 'instance' || names.some((n) => known.get(n)!.has(label) || (label === 'le' && n.endsWith('_bucket')));
          assert.ok(ok, `${where}: no metric of ${names.join(', ')} has a label ${label}`);
        }
      }
    }
  });

  it('is an importable dashboard: a uid, a Prometheus data-source variable, panels with unique ids', () => {
    assert.equal(DASHBOARD.uid, 'wlvs-director');
    assert.ok(DASHBOARD.templating.list.some((v: { type: string }) => v.type === 'datasource'));
    const ids = panels.map((p) => (p as unknown as { id: number }).id);
    assert.equal(new Set(ids).size, ids.length);
  });
});
