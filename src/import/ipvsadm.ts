// ipvsadm.ts — translates an `ipvsadm -S -n` dump (the save format: one -A per service, one
// -a per real server) into a wlvs configuration. What has no wlvs equivalent (fwmark services,
// lower thresholds, unknown options) is listed with its line number, never silently dropped.
import { splitHostPort } from '../model/address.js';
import { SCHEDULER_NAMES } from '../model/spec.js';
import { stringify } from 'yaml';
import { parseConfig } from '../config/load.js';
import { WlvsError } from '../errors.js';

export interface Translation {
  config: Record<string, unknown>;
  yaml: string;
  untranslated: string[];
}

const FWD: Record<string, string> = { '-g': 'dr', '--gatewaying': 'dr', '-i': 'tun', '--ipip': 'tun', '-m': 'nat', '--masquerading': 'nat' };
const SCHEDULERS: readonly string[] = SCHEDULER_NAMES;

export interface Svc { obj: Record<string, unknown>; rs: Record<string, unknown>[]; modes: string[] }

/** placeholderDirector: the importers cannot know the devices; the operator fills them in */
const PLACEHOLDER_DIRECTOR = {
  devices: [{ name: 'wlvs0', kind: 'tap', addresses: [] as string[] }],
};

/** splitAddr reads ipvsadm's ADDRESS:PORT, IPv6 in brackets: 10.0.0.1:80, [2001:db8::10]:80 */
function splitAddr(s: string): { address: string; port: number } | null {
  const m = splitHostPort(s);
  return m && m.port !== null ? { address: m.address, port: m.port } : null;
}

/** finish picks each service's forwarding mode (the most common of its servers), adds director keys and validates */
export function finish(services: Svc[], untranslated: string[], ha?: Record<string, unknown>,
  director: Record<string, unknown> = {}): Translation {
  const out = services.map((s) => {
    const counts = new Map<string, number>();
    for (const m of s.modes) counts.set(m, (counts.get(m) ?? 0) + 1);
    const main = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? (s.obj.forwarding as string) ?? 'nat';
    return {
      ...s.obj, forwarding: main,
      real_servers: s.rs.map((r, i) => (s.modes[i] && s.modes[i] !== main ? { ...r, forwarding: s.modes[i] } : r)),
    };
  });
  if (out.some((s) => s.forwarding === 'fullnat' || (s.real_servers as { forwarding?: string }[]).some((r) => r.forwarding === 'fullnat'))) {
    untranslated.push('fullnat services need the director\'s local addresses: add director.fullnat.local_addresses');
  }
  untranslated.push('director.devices: fill in the devices wlvs should run on (a tap device is assumed)');
  const config = { director: { ...PLACEHOLDER_DIRECTOR, ...director, ...(ha ? { ha } : {}) }, services: out };
  const yaml = stringify(config, { lineWidth: 0 });
  try {
    parseConfig(yaml, 'imported');
  } catch (err) {
    const msg = (err as Error).message;
    // fullnat without local addresses and devices without addresses (the placeholders the
    // operator fills in) are expected here; anything else is an importer bug
    const expected = /local_addresses|local address|needs an address/;
    if (msg.split('\n').slice(1).some((l) => !expected.test(l))) throw new WlvsError('WLVS_ERR_IMPORT', `translation does not validate: ${msg}`);
  }
  return { config, yaml, untranslated };
}

/** translate converts ipvsadm save-format text. */
export function translate(text: string): Translation {
  const services = new Map<string, Svc>();
  const untranslated: string[] = [];
  text.split('\n').forEach((raw, n) => {
    const line = raw.trim();
    const where = `line ${n + 1}: ${line}`;
    if (!line || line.startsWith('#')) return;
    const tok = line.split(/\s+/);
    const cmd = tok[0];
    if (cmd !== '-A' && cmd !== '-a' && cmd !== '--add-service' && cmd !== '--add-server') {
      untranslated.push(`${where} (only -A and -a lines are translated)`);
      return;
    }
    let protocol = '';
    let svcAddr: { address: string; port: number } | null = null;
    let rsAddr: { address: string; port: number } | null = null;
    const extra: string[] = [];
    const o: Record<string, unknown> = {};
    for (let i = 1; i < tok.length; i++) {
      const t = tok[i];
      const next = () => tok[++i];
      if (t === '-t' || t === '--tcp-service' || t === '-u' || t === '--udp-service') {
        protocol = t.startsWith('-t') || t === '--tcp-service' ? 'tcp' : 'udp';
        svcAddr = splitAddr(next());
      } else if (t === '-f' || t === '--fwmark-service') {
        untranslated.push(`${where} (firewall-mark services have no wlvs equivalent; use a port-0 service on the VIP)`);
        return;
      } else if (t === '-s' || t === '--scheduler') {
        const s = next();
        if (SCHEDULERS.includes(s)) o.scheduler = s;
        else { o.scheduler = 'wlc'; extra.push(`scheduler ${s} unsupported, wlc used`); }
      } else if (t === '-p' || t === '--persistent') {
        const v = tok[i + 1];
        o.persistence = v && /^\d+$/.test(v) ? Number(tok[++i]) : 300;
      } else if (t === '-M' || t === '--netmask') {
        // a netmask for IPv4, a prefix length for IPv6 (ipvsadm -S prints `-M 128`)
        const v = next();
        o.persistence_netmask = /^\d+$/.test(v) ? Number(v) : v;
      } else if (t === '-b' || t === '--sched-flags') {
        o.sched_flags = next().split(',').map((f) => f.replace(/^flag-1$/, 'sh-fallback').replace(/^flag-2$/, 'sh-port'));
      } else if (t === '-r' || t === '--real-server') {
        rsAddr = splitAddr(next());
      } else if (FWD[t]) {
        o.forwarding = FWD[t];
      } else if (t === '-w' || t === '--weight') {
        o.weight = Number(next());
      } else if (t === '-x' || t === '--u-threshold') {
        o.upper_threshold = Number(next());
      } else if (t === '-y' || t === '--l-threshold') {
        extra.push(`lower threshold ${next()} not supported (the server takes connections again below the upper one)`);
      } else {
        extra.push(`option ${t} ignored`);
      }
    }
    if (!svcAddr) {
      untranslated.push(`${where} (no service address)`);
      return;
    }
    const { address: vip, port } = svcAddr as { address: string; port: number };
    const key = `${protocol}:${vip}:${port}`;
    if (cmd === '-A' || cmd === '--add-service') {
      services.set(key, {
        obj: {
          name: `${protocol}-${vip}-${port}`, vip, port, protocol, scheduler: o.scheduler ?? 'wlc',
          ...(o.sched_flags ? { sched_flags: o.sched_flags } : {}),
          ...(o.persistence !== undefined ? { persistence: o.persistence } : {}),
          ...(o.persistence_netmask ? { persistence_netmask: o.persistence_netmask } : {}),
          health_check: { type: port === 0 ? 'none' : 'tcp' },
        },
        rs: [], modes: [],
      });
    } else {
      const s = services.get(key);
      if (!s || !rsAddr) {
        untranslated.push(`${where} (${!s ? 'its service was not defined before' : 'no real server address'})`);
        return;
      }
      const r = rsAddr as { address: string; port: number };
      s.rs.push({
        address: r.address, port: r.port, weight: o.weight ?? 1,
        ...(o.upper_threshold ? { upper_threshold: o.upper_threshold } : {}),
      });
      s.modes.push((o.forwarding as string) ?? 'dr');
    }
    for (const e of extra) untranslated.push(`${where} (${e})`);
  });
  return finish([...services.values()], untranslated);
}
