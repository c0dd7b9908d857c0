// The host's layers, bottom to top. A file may import from its own layer and the ones below,
// never from above, so each layer can be changed and tested with only what is under it:
//
//   errors/log < model < sys < dataplane < io < net < health < config < import < ha < cluster
//     < director < api < realserver < lab < cli
//
// Why this order: model is data only; sys runs commands; dataplane knows the memory layout and
// the core; io moves frames into that memory (its fake reads the descriptor layout); net is the
// host's own ARP/ICMP; health probes; config turns YAML into the model (defaults from the
// dataplane); import turns other tools' files into config; ha syncs sessions (dataplane records);
// cluster drives the member's BIRD and syncs sessions among members (with ha's datagrams);
// director runs all of these; api sees the director only through director/control-plane.ts;
// realserver, lab and cli are programs on top. Siblings with no import between them (net,
// health, config; realserver, lab) could swap places; the order only has to be one.
//
// One more rule: src/api/ imports, from below, only model/, errors/log and the ControlPlane
// interface (director/control-plane.ts): never the director, the tables or the applier.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const LAYERS: string[][] = [
  ['errors.ts', 'log.ts', 'types'], ['model'], ['sys'], ['dataplane'], ['io'], ['net'], ['health'], ['config'],
  ['import'], ['ha'], ['cluster'], ['director'], ['api'], ['realserver'], ['lab'], ['cli'],
];
const API_MAY_IMPORT = new Set(['api', 'model', 'errors.ts', 'log.ts', 'director/control-plane.ts']);

const SRC = new URL('../../../src/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith('.ts') ? [p] : [];
  });
}

/** the module specifiers of every static import/export-from and dynamic import() in `text` */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]/gms)) out.push(m[1]);
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

/** the top-level entry of src/ a path belongs to ('model', 'errors.ts', ...) */
const topOf = (rel: string): string => rel.split('/')[0];

/**
 * violations checks files given as (path relative to src/ → text) and returns one line per
 * import that goes up a layer, leaves the api's allowance, or comes from an unlisted folder.
 */
export function violations(files: Map<string, string>): string[] {
  const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as [string, number])));
  const out: string[] = [];
  for (const [file, text] of files) {
    const from = layerOf.get(topOf(file));
    if (from === undefined) {
      out.push(`src/${file}: its folder is in no layer; add it to LAYERS in test/contract/layers.test.ts`);
      continue;
    }
    for (const spec of importsOf(text)) {
      if (!spec.startsWith('.')) continue;
      const target = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue;
      const to = layerOf.get(topOf(target));
      if (to === undefined) out.push(`src/${file}: imports '${spec}', outside every layer`);
      else if (to > from) out.push(`src/${file}: imports '${spec}' from ${topOf(target)}, a layer above ${topOf(file)}`);
      else if (topOf(file) === 'api' && !API_MAY_IMPORT.has(topOf(target)) && !API_MAY_IMPORT.has(target)) {
        out.push(`src/${file}: imports '${spec}'; the API may use only director/control-plane.ts and model/`);
      }
    }
  }
  return out;
}

describe('layers', () => {
  it('every import in src/ runs down the layers', () => {
    const files = new Map(sources(SRC).map((p) => [relative(SRC, p), readFileSync(p, 'utf8')]));
    assert.ok(files.size > 40, `read ${files.size} files`);
    assert.deepEqual(violations(files), []);
  });

  it('names the file and the import of an upward or forbidden import', () => {
    const files = new Map([
      ['director/supervisor.ts', "import { AdminServer } from '../api/server.js';\n"],
      ['net/arp.ts', "import type {\n  Spec,\n} from '../model/spec.js';\nconst x = await import('../cli/index.js');\n"],
      ['api/views.ts', "import type { Tables } from '../dataplane/tables.js';\nimport type { ControlPlane } from '../director/control-plane.js';\n"],
      ['gadgets/x.ts', ''],
      ['model/spec.ts', "export { a } from './address.js';\nimport 'node:fs';\n"],
    ]);
    assert.deepEqual(violations(files), [
      "src/director/supervisor.ts: imports '../api/server.js' from api, a layer above director",
      "src/net/arp.ts: imports '../cli/index.js' from cli, a layer above net",
      "src/api/views.ts: imports '../dataplane/tables.js'; the API may use only director/control-plane.ts and model/",
      'src/gadgets/x.ts: its folder is in no layer; add it to LAYERS in test/contract/layers.test.ts',
    ]);
  });
});
