// import.ts — `wlvs import ipvsadm|keepalived FILE`: prints the wlvs YAML and, on stderr, what
// could not be translated.
import { readFileSync } from 'node:fs';
import { WlvsError } from '../errors.js';

export async function importCommand(argv: string[]): Promise<void> {
  const [kind, file] = argv;
  if ((kind !== 'ipvsadm' && kind !== 'keepalived') || !file) {
    throw new WlvsError('WLVS_ERR_USAGE', 'usage: wlvs import ipvsadm|keepalived FILE');
  }
  const text = readFileSync(file, 'utf8');
  const mod = kind === 'ipvsadm' ? await import('../import/ipvsadm.js') : await import('../import/keepalived.js');
  const r = mod.translate(text);
  process.stdout.write(r.yaml);
  for (const u of r.untranslated) console.error(`# not translated: ${u}`);
}
