// run.ts — `wlvs run CONFIG`: the director in the foreground. It logs JSON lines and prints one
// with "event":"ready" once the devices are up and traffic can flow. SIGTERM/SIGINT stop it
// cleanly (devices closed, kernel routes removed, exit 0); SIGHUP reloads the configuration.
import { loadConfig } from '../config/load.js';
import { Director } from '../director/director.js';
import { createLogger } from '../log.js';
import { WlvsError } from '../errors.js';
import { Supervisor } from '../director/supervisor.js';

export async function runCommand(configPath: string): Promise<void> {
  const spec = loadConfig(configPath);
  const log = createLogger({ level: spec.logLevel });
  let director: Director;
  try {
    director = await Director.start({ spec, log, corePath: process.env.WLVS_CORE || undefined });
  } catch (err) {
    log.error({ event: 'start_failed', code: WlvsError.is(err) ? err.code : undefined, err: (err as Error).message }, 'cannot start');
    process.exitCode = 1;
    return;
  }
  const sup = new Supervisor(director, log, configPath);
  await sup.start();
  log.info({ event: 'ready', devices: director.deviceInfo(), services: spec.services.map((s) => s.name), admin: sup.adminAddress },
    'ready: traffic can flow');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stopping', signal }, 'stopping');
    await sup.stop();
    await director.stop();
    log.info({ event: 'stopped' }, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => void sup.reload('SIGHUP').catch(() => undefined));
}
