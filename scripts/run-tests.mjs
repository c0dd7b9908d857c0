// Runs the compiled tests with Node's own runner: unit suites in parallel, then the end-to-end
// suites (network namespaces, real traffic) one file at a time, since they load the CPU and
// their timings must not fight each other. `--unit` stops after the unit suites.
import { readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../dist/test/', import.meta.url).pathname;
function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}
const all = find(root);
const e2e = all.filter((f) => f.includes('/e2e/'));
const unit = all.filter((f) => !f.includes('/e2e/'));
const run = (files, concurrency) => {
  if (files.length === 0) return 0;
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
  return r.status ?? 1;
};
let status = run(unit, 2);
if (!process.argv.includes('--unit')) status = run(e2e, 1) || status;
process.exit(status);
