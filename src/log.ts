// log.ts — JSON log lines (pino), one logger per process with a child per component.
import { pino, type Logger } from 'pino';

export type { Logger };

/** createLogger writes JSON lines to stdout (or `destination`, a file descriptor). */
export function createLogger(opts: { level?: string; destination?: number; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? 'wlvs',
    level: opts.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, pino.destination({ dest: opts.destination ?? 1, sync: true }));
}
