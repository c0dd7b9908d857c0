// run.ts — `wlvs run [--user U] CONFIG`: the director in the foreground, and the one place its
// parts are wired together: the director (devices, data path), the supervisor (health, reloads)
// and the admin API, which sees the other two only through their ControlPlane. It logs JSON lines
// and prints one with "event":"ready" once the devices are up and traffic can flow (and tells
// systemd, when it runs under it). SIGTERM/SIGINT stop it cleanly (devices closed, kernel routes
// removed, exit 0); SIGHUP reloads the configuration.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { Director } from '../director/director.js';
import { controlPlane } from '../director/control.js';
import { Supervisor } from '../director/supervisor.js';
import { AdminServer } from '../api/server.js';
import { createLogger } from '../log.js';
import { WlvsError, asWlvsError } from '../errors.js';
import { HELP } from './help.js';
import { Notifier, dropPrivileges } from './systemd.js';

export async function runCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { user: { type: 'string' } } });
  const configPath = positionals[0];
  if (!configPath || positionals.length > 1) throw new WlvsError('WLVS_ERR_USAGE', HELP.run.split('\n')[0]);
  const spec = loadConfig(configPath);
  if (values.user && spec.devices.some((d) => d.kind === 'tun')) {
    throw new WlvsError('WLVS_ERR_USAGE',
      '--user works with tap devices only: the kernel routes of a tun device are changed at reload and removed at exit, which needs CAP_NET_ADMIN');
  }
  const log = createLogger({ level: spec.logLevel });
  const notify = new Notifier();
  const startFailed = (err: unknown) => {
    const e = asWlvsError(err);
    log.error({ event: 'start_failed', code: e.code, err: e.message }, 'cannot start');
    notify.send(`STATUS=cannot start: ${e.message.split('\n')[0]}`);
    process.exitCode = 1;
  };
  let director: Director;
  try {
    director = await Director.start({ spec, log, corePath: process.env.WLVS_CORE || undefined });
  } catch (err) {
    startFailed(err);
    return;
  }
  const sup = new Supervisor(director, log, configPath);
  sup.start();
  let api: AdminServer | null = null;
  const abort = async (err: unknown) => {
    // the devices are open and polled: without a stop the process would never exit
    startFailed(err);
    sup.stop();
    await api?.close();
    await director.stop();
  };
  if (spec.admin) {
    api = new AdminServer(controlPlane(sup), log.child({ component: 'api' }));
    try {
      await api.listen(spec.admin.listen, spec.admin.tokenFile);
    } catch (err) {
      return abort(err);
    }
  }
  if (values.user) {
    // everything that needs a privilege is open now: devices, bridge ports, kernel routes, sockets
    try {
      const ids = dropPrivileges(values.user);
      log.info({ event: 'privileges_dropped', user: values.user, ...ids }, 'running without capabilities');
    } catch (err) {
      return abort(err);
    }
  }
  log.info({ event: 'ready', devices: director.deviceInfo(), services: spec.services.map((s) => s.name), admin: api?.address ?? null },
    'ready: traffic can flow');
  const ready = () => `${director.spec.services.length} services${api ? `, admin ${api.address}` : ''}`;
  notify.ready(ready());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    notify.stopping();
    log.info({ event: 'stopping', signal }, 'stopping');
    sup.stop();
    await api?.close();
    await director.stop();
    log.info({ event: 'stopped' }, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    notify.reloading();
    // READY=1 again whether the reload was applied or refused: the old configuration keeps running
    void sup.reload('SIGHUP').catch(() => undefined).finally(() => notify.ready(ready()));
  });
}
