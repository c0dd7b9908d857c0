#!/usr/bin/env node
// The wlvs command: the compiled CLI lives in dist/ (npm run build).
import('../dist/src/cli/index.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  console.error(err?.message ?? err);
  process.exit(1);
});
