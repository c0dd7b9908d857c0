// wait-line.ts — waits for a child process to say it is ready, bounded in time, and fails early
// (with the last output) when the child exits first.
import type { ChildProcess } from 'node:child_process';
import { WlvsError } from '../errors.js';

/** waitForLine resolves with the first line matching `re` on stdout or stderr of `child`. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const fail = (why: string) => {
      cleanup();
      reject(new WlvsError('WLVS_ERR_COMMAND', `${why} waiting for ${re} (pid ${child.pid}); output:\n${buf.slice(-4000)}`,
        { pid: child.pid, output: buf.slice(-4000) }));
    };
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => re.test(l));
      if (line !== undefined) {
        cleanup();
        resolve(line);
      }
    };
    const onExit = (code: number | null, signal: string | null) => fail(`process exited (${code ?? signal})`);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
  });
}
