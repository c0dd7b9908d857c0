// systemd.ts — what `wlvs run` does for a service manager: sd_notify(3) readiness, reload and
// stop notices and watchdog pings over $NOTIFY_SOCKET (through the native addon: Node cannot
// send unix datagrams), and the drop of every privilege once the devices are open.
import { readFileSync, readdirSync } from 'node:fs';
import { native } from '../io/native.js';
import { WlvsError } from '../errors.js';

/** Notifier sends sd_notify messages; without $NOTIFY_SOCKET every call does nothing. */
export class Notifier {
  readonly socket: string | null;
  #watchdog: NodeJS.Timeout | null = null;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.socket = env.NOTIFY_SOCKET || null;
    const usec = Number(env.WATCHDOG_USEC);
    // WATCHDOG_PID, when set, names the process meant to ping (systemd.exec(5))
    const forUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
    if (this.socket && usec > 0 && forUs) {
      // half the interval, as sd_watchdog_enabled(3) advises; a stalled event loop stops the pings
      this.#watchdog = setInterval(() => this.send('WATCHDOG=1'), Math.max(50, usec / 2000));
      this.#watchdog.unref();
    }
  }

  send(message: string): void {
    if (!this.socket) return;
    try {
      native().sdNotify(this.socket, message);
    } catch {
      // a missing manager must never stop the director
    }
  }

  ready(status: string): void { this.send(`READY=1\nSTATUS=${status}\nMAINPID=${process.pid}`); }
  /** RELOADING=1 carries CLOCK_MONOTONIC in µs (required by Type=notify-reload, systemd ≥ 253) */
  reloading(): void { this.send(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`); }
  stopping(): void {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.send('STOPPING=1');
  }
}

/** the uid and primary gid of `name` from /etc/passwd (numbers pass through) */
function lookup(file: string, name: string): { id: number; gid: number } | null {
  if (/^\d+$/.test(name)) return { id: Number(name), gid: Number(name) };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { id: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

/** capabilities in effect per thread of this process (hex masks of /proc/self/task/N/status) */
export function threadCapabilities(): { thread: number; effective: string; permitted: string }[] {
  return readdirSync('/proc/self/task').map((t) => {
    const status = readFileSync(`/proc/self/task/${t}/status`, 'utf8');
    const field = (k: string) => new RegExp(`^${k}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '?';
    return { thread: Number(t), effective: field('CapEff'), permitted: field('CapPrm') };
  });
}

/**
 * dropPrivileges switches to USER[:GROUP] for good. Linux keeps capabilities per thread and
 * capset(2) changes only the calling one, while Node runs several (V8 platform, libuv pool);
 * but glibc applies setgid/setuid to every thread (POSIX), and when a root process sets all its
 * uids non-zero the kernel clears its permitted, effective and ambient capabilities
 * (capabilities(7)). So every thread ends up with none. Returns the new ids.
 */
export function dropPrivileges(spec: string): { uid: number; gid: number } {
  const [userName, groupName] = spec.split(':');
  const user = lookup('/etc/passwd', userName);
  if (!user) throw new WlvsError('WLVS_ERR_USAGE', `--user: no user ${JSON.stringify(userName)} in /etc/passwd`);
  const gid = groupName ? lookup('/etc/group', groupName)?.id : user.gid;
  if (gid === undefined) throw new WlvsError('WLVS_ERR_USAGE', `--user: no group ${JSON.stringify(groupName)} in /etc/group`);
  if (user.id === 0) throw new WlvsError('WLVS_ERR_USAGE', '--user: switching to uid 0 drops nothing');
  try {
    process.setgroups!([gid]);
    process.setgid!(gid);
    process.setuid!(user.id);
  } catch (err) {
    throw new WlvsError('WLVS_ERR_USAGE', `--user ${spec}: ${(err as Error).message} (needs CAP_SETUID and CAP_SETGID)`);
  }
  const left = threadCapabilities().filter((t) => !/^0+$/.test(t.effective) || !/^0+$/.test(t.permitted));
  if (left.length) throw new WlvsError('WLVS_ERR_INTERNAL', `capabilities left after --user: ${JSON.stringify(left)}`);
  return { uid: user.id, gid };
}
