// build-assets.mjs — copies the dashboard's browser files next to the compiled API
// (dist/src/api/dashboard/): its own script and style from src/api/dashboard/, and uPlot from
// node_modules (a devDependency: vendored here at build time, shipped in the package, so the
// dashboard needs no CDN or any outside network), with uPlot's licence.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/src/api/dashboard');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(root, 'src/api/dashboard'))) copyFileSync(join(root, 'src/api/dashboard', f), join(out, f));
const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
for (const f of ['dist/uPlot.iife.min.js', 'dist/uPlot.min.css', 'LICENSE']) {
  copyFileSync(join(uplot, f), join(out, f === 'LICENSE' ? 'uPlot.LICENSE' : f.split('/').pop()));
}
