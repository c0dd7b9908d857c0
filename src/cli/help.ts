// help.ts — the command line's texts: the overview (`wlvs help`), one page per command
// (`wlvs help COMMAND`, `wlvs COMMAND --help`) and the version line (`wlvs --version`).
import { readFileSync } from 'node:fs';
import { ABI_VERSION } from '../dataplane/abi.js';

const ADMIN_OPTIONS = `
admin options:
  --api URL          the admin API (default WLVS_API or http://127.0.0.1:9180)
  --token-file F     bearer token for changes (default WLVS_TOKEN_FILE)
  --json             print the API's JSON answer`;

/** One page per command: usage line first, then what it does and its options. */
export const HELP: Record<string, string> = {
  run: `usage: wlvs run [--user USER[:GROUP]] CONFIG

Runs the director in the foreground: opens the devices, applies CONFIG, logs JSON lines and
prints one with "event":"ready" once traffic can flow. SIGHUP reloads CONFIG, SIGTERM/SIGINT
stop cleanly. Under systemd (NOTIFY_SOCKET set) it reports READY=1, RELOADING=1 and STOPPING=1.

  --user USER[:GROUP]   after the devices are open, switch to this user (and its group, or
                        GROUP): every capability is dropped from every thread. TAP devices
                        only: TUN devices need CAP_NET_ADMIN for their kernel routes at reload
                        and exit.`,
  check: `usage: wlvs check CONFIG

Validates CONFIG as "wlvs run" would, without opening any device (like nginx -t, haproxy -c,
keepalived -t): keys and values, device kinds and modes, capacities, the admin listener and
token file, the failover key, the WASM core. Prints every problem; exit 0 valid, 1 invalid.`,
  lab: `usage: wlvs lab demo | wlvs lab failover | wlvs lab cluster

demo       builds a namespace lab (client, director, three real servers), runs wlvs on a built-in
           NAT-over-TAP configuration, shows traffic and counters, tears everything down
failover   two directors with VRRP and session sync: a download through the VIP survives the
           master being killed
cluster    three directors with BIRD behind a BIRD router (ECMP): the busiest one is killed, the
           downloads complete on the survivors`,
  'drain-director': `usage: wlvs drain-director [--deadline SECONDS] [--wait] [--cancel] [admin options]

Cluster member (director.cluster): withdraws this director's routes so ECMP sends new flows to the
other members, keeps forwarding what still arrives until its sessions end or the deadline passes;
--wait reports until the drain is over; --cancel announces the routes again.
${ADMIN_OPTIONS}`,
  realserver: `usage: wlvs realserver --mode dr|tun --vip ADDR [--vip ADDR ...] [--user-space]

Prepares this host (its network namespace) as a real server until SIGTERM/SIGINT, then undoes it:
DR puts the VIP on lo without answering ARP for it; TUN decapsulates IP-in-IP (kernel ipip, or
in user space with --user-space or when the kernel has no ipip).`,
  status: `usage: wlvs status [--stats | --rate] [admin options]

Services and real servers like ipvsadm -Ln (with health), --stats (totals) or --rate (per second).
${ADMIN_OPTIONS}`,
  conns: `usage: wlvs conns [--service S] [--client IP] [--state ST] [--real-server ADDR[:PORT]]
                  [--limit N] [--cursor C] [admin options]

Sessions like ipvsadm -Lnc (plus the local address of Full-NAT ones).
${ADMIN_OPTIONS}`,
  add: `usage: wlvs add service --vip ADDR --port P [--name N] [--protocol tcp|udp] [--scheduler S]
                  [--forwarding M] [--persistence SECONDS]
       wlvs add real-server SERVICE ADDR[:PORT] [--weight W] [--forwarding M] [--upper-threshold N]

Adds at runtime (ipvsadm -A / -a); kept until the next reload of the file.
${ADMIN_OPTIONS}`,
  edit: `usage: wlvs edit service NAME [--scheduler S] [--persistence SECONDS] ...
       wlvs edit real-server SERVICE ADDR[:PORT] [--weight W] [--upper-threshold N]

Changes at runtime (ipvsadm -E / -e); existing sessions are kept.
${ADMIN_OPTIONS}`,
  del: `usage: wlvs del service NAME
       wlvs del real-server SERVICE ADDR[:PORT]

Removes at runtime (ipvsadm -D / -d); sessions of a removed real server end.
${ADMIN_OPTIONS}`,
  drain: `usage: wlvs drain SERVICE ADDR[:PORT]

Sets the real server's weight to 0: no new connections, existing ones continue.
${ADMIN_OPTIONS}`,
  reload: `usage: wlvs reload [admin options]

Re-reads the configuration file (as SIGHUP does); an invalid file changes nothing.
${ADMIN_OPTIONS}`,
  'hot-swap': `usage: wlvs hot-swap CORE.wasm [admin options]

Replaces the WASM data path between two batches; sessions are kept.
${ADMIN_OPTIONS}`,
  import: `usage: wlvs import ipvsadm|keepalived FILE

Translates an "ipvsadm -S -n" dump or a keepalived.conf into wlvs YAML on stdout; what has no
wlvs equivalent is listed on stderr with its line number.`,
  help: `usage: wlvs help [COMMAND]

Shows the list of commands, or the page of one.`,
  version: `usage: wlvs --version

Prints the version of wlvs, the ABI of its WASM core and the Node it runs on.`,
};

export const USAGE = `usage: wlvs <command> [options]     (wlvs help COMMAND for one command's page)

  run [--user U] CONFIG      run the director in the foreground (JSON logs; "ready" line when up)
  check CONFIG               validate a configuration without opening devices (exit 0 valid, 1 not)
  lab demo                   build a namespace lab, run wlvs on a built-in config, show traffic, tear down
  lab failover               two directors in a lab: kill the master mid-download, watch the backup take over
  lab cluster                three directors behind a BGP router (BIRD, ECMP): kill one, transfers continue
  realserver --mode dr|tun --vip ADDR
                             prepare this host as a real server (DR: VIP on lo; TUN: decapsulate)
  status [--stats|--rate] [--json]       services and real servers (like ipvsadm -Ln)
  conns [--service S] [--json]           sessions (like ipvsadm -Lnc)
  add service|real-server ...            add at runtime
  edit service|real-server ...           change at runtime
  del service|real-server ...            remove at runtime
  drain SERVICE ADDR:PORT                weight 0: no new connections, existing ones continue
  drain-director [--deadline S] [--wait] [--cancel]
                                         cluster member: withdraw its routes, forward what still arrives until it ends
  reload                                 re-read the configuration file (also SIGHUP)
  hot-swap CORE.wasm                     replace the WASM data path between two batches, sessions kept
  import ipvsadm|keepalived FILE         translate an ipvsadm -S -n dump or keepalived.conf to wlvs YAML
  help [COMMAND], --version

admin commands talk to the admin API: --api http://127.0.0.1:9180 (or WLVS_API), --token-file F (or WLVS_TOKEN_FILE);
the dashboard is at http://ADMIN/dashboard`;

/** version reads the package's own version (package.json ships with every install). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `wlvs ${pkg.version} (WASM core ABI ${ABI_VERSION}, node ${process.version})`;
}
