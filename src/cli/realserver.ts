// realserver.ts — `wlvs realserver --mode dr|tun --vip ADDR [--vip ADDR...]`: prepares this host
// (its network namespace) as an LVS real server and keeps running until SIGTERM/SIGINT, then
// undoes everything. TUN mode decapsulates IP-in-IP in user space when the kernel cannot.
import { parseArgs } from 'node:util';
import { WlvsError } from '../errors.js';
import { createLogger } from '../log.js';
import { type Prepared, prepareDr, prepareTun } from '../realserver/prepare.js';

export async function realserverCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { mode: { type: 'string' }, vip: { type: 'string', multiple: true }, 'user-space': { type: 'boolean', default: false } },
  });
  const mode = values.mode;
  const vips = values.vip ?? [];
  if ((mode !== 'dr' && mode !== 'tun') || vips.length === 0) {
    throw new WlvsError('WLVS_ERR_USAGE', 'usage: wlvs realserver --mode dr|tun --vip ADDR [--vip ADDR ...]');
  }
  const log = createLogger();
  const done: Prepared[] = [];
  for (const [i, vip] of vips.entries()) {
    done.push(mode === 'dr' ? await prepareDr(vip)
      : await prepareTun(vip, { device: `wlvs-decap${i || ''}`, forceUserSpace: values['user-space'] }));
  }
  log.info({ event: 'ready', mode, vips, decap: done[0].decap }, 'real server prepared');
  const stop = async () => {
    for (const p of done) await p.undo();
    log.info({ event: 'stopped', stats: done.map((p) => p.stats()) }, 'real server settings removed');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  setInterval(() => undefined, 1 << 30);
}
