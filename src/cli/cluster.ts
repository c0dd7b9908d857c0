// cluster.ts — the cluster member's lines of `wlvs status`, and `wlvs drain-director`: withdraw
// this director's routes, keep forwarding what still arrives, and (with --wait) report until
// the drain is over; `--cancel` announces again.
import { parseArgs } from 'node:util';
import { WlvsError } from '../errors.js';
import { fetchJson, token } from './admin.js';

/** What `GET /api/v1/cluster` (and the status's `cluster`) returns, as far as the CLI reads it. */
export interface ClusterStatus {
  member: string; state: string; local_as: number;
  neighbors: { address: string; as: number; up: boolean; state: string; info: string }[];
  announced: { prefix: string; kind: string }[];
  stalled: boolean;
  drain: { started: string; deadline: string; ended: string | null; why: string | null; sessions: number } | null;
  members: { name: string; self: boolean; local_addresses: string[]; sync: string | null; up?: boolean }[];
  stats: { stalls: number; birdExits: number };
}

/** formatCluster: one line for the member, one per BGP neighbour, one with the announcements */
export function formatCluster(c: ClusterStatus): string[] {
  const lines = [`cluster member ${c.member} (AS ${c.local_as}): ${c.state.toUpperCase()}${c.stalled ? ', WATCHDOG WITHDREW EVERYTHING' : ''}` +
    (c.stats.stalls ? ` (stalls ${c.stats.stalls})` : '')];
  for (const n of c.neighbors) lines.push(`  bgp ${n.address} AS ${n.as}: ${n.up ? 'up' : 'DOWN'} (${n.state}${n.info ? `, ${n.info}` : ''})`);
  const by = (kind: string) => c.announced.filter((a) => a.kind === kind).map((a) => a.prefix);
  lines.push(`  announced: vip ${by('vip').join(' ') || '-'}; lip ${by('lip').join(' ') || '-'}; backup ${by('backup').join(' ') || '-'}`);
  if (c.drain) {
    lines.push(`  drain since ${c.drain.started}, deadline ${c.drain.deadline}` +
      (c.drain.ended ? `, ended ${c.drain.ended}: ${c.drain.why}` : `, ${c.drain.sessions} sessions left`));
  }
  if (c.members.length) {
    lines.push(`  members: ${c.members.map((m) => `${m.name}${m.self ? ' (self)' : m.up === undefined ? '' : m.up ? ' up' : ' DOWN'}`).join(', ')}`);
  }
  return lines;
}

export async function drainDirectorCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      api: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean', default: false },
      deadline: { type: 'string' }, wait: { type: 'boolean', default: false }, cancel: { type: 'boolean', default: false },
    },
  });
  const api = (values.api ?? process.env.WLVS_API ?? 'http://127.0.0.1:9180').replace(/\/$/, '');
  const deadline = values.deadline === undefined ? undefined : Number(values.deadline);
  if (deadline !== undefined && !(deadline > 0)) throw new WlvsError('WLVS_ERR_USAGE', '--deadline takes a number of seconds');
  const tok = token(values['token-file']);
  const show = (c: ClusterStatus) => console.log(values.json ? JSON.stringify(c, null, 2) : formatCluster(c).join('\n'));
  if (values.cancel) {
    show(await fetchJson(`${api}/api/v1/cluster/resume`, { method: 'POST', token: tok }) as ClusterStatus);
    return;
  }
  let c = await fetchJson(`${api}/api/v1/cluster/drain`, { method: 'POST', body: deadline === undefined ? {} : { deadline }, token: tok }) as ClusterStatus;
  show(c);
  if (!values.wait) return;
  // bounded by the drain's own deadline (plus a margin): the director ends it there
  const until = Date.parse(c.drain?.deadline ?? '') + 10_000 || Date.now() + 600_000;
  let last = -1;
  while (c.state === 'draining' && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    c = await fetchJson(`${api}/api/v1/cluster`) as ClusterStatus;
    if (!values.json && c.drain && c.drain.sessions !== last) {
      last = c.drain.sessions;
      console.log(`  draining: ${last} sessions left`);
    }
  }
  show(c);
  if (c.state !== 'drained') throw new WlvsError('WLVS_ERR_USAGE', `the drain did not end (state ${c.state})`);
}
