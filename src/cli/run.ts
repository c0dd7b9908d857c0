// run.ts — `wlvs run CONFIG`: the director in the foreground, and the one place its parts are
// wired together: the director (devices, data path), the supervisor (health, reloads) and the
// admin API, which sees the other two only through their ControlPlane. It logs JSON lines and
// prints one with "event":"ready" once the devices are up and traffic can flow. SIGTERM/SIGINT
// stop it cleanly (devices closed, kernel routes removed, exit 0); SIGHUP reloads the configuration.
import { loadConfig } from '../config/load.js';
import { Director } from '../director/director.js';
import { controlPlane } from '../director/control.js';
import { Supervisor } from '../director/supervisor.js';
import { AdminServer } from '../api/server.js';
import { createLogger } from '../log.js';
import { asWlvsError } from '../errors.js';

export async function runCommand(configPath: string): Promise<void> {
  const spec = loadConfig(configPath);
  const log = createLogger({ level: spec.logLevel });
  const startFailed = (err: unknown) => {
    const e = asWlvsError(err);
    log.error({ event: 'start_failed', code: e.code, err: e.message }, 'cannot start');
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
  if (spec.admin) {
    api = new AdminServer(controlPlane(sup), log.child({ component: 'api' }));
    try {
      await api.listen(spec.admin.listen, spec.admin.tokenFile);
    } catch (err) {
      // the devices are open and polled: without a stop the process would never exit
      startFailed(err);
      sup.stop();
      await api.close();
      await director.stop();
      return;
    }
  }
  log.info({ event: 'ready', devices: director.deviceInfo(), services: spec.services.map((s) => s.name), admin: api?.address ?? null },
    'ready: traffic can flow');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stopping', signal }, 'stopping');
    sup.stop();
    await api?.close();
    await director.stop();
    log.info({ event: 'stopped' }, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => void sup.reload('SIGHUP').catch(() => undefined));
}
