// run.ts — runs a system command (ip, sysctl, ethtool...) without a shell and turns a failure
// into WLVS_ERR_COMMAND with the command line and what it printed.
import { execFile } from 'node:child_process';
import { WlvsError } from '../errors.js';

export interface RunResult { stdout: string; stderr: string }

/** run executes `cmd args...` and resolves with its output; rejects with WLVS_ERR_COMMAND. */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: opts.timeoutMs ?? 10_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new WlvsError('WLVS_ERR_COMMAND', `${cmd} ${args.join(' ')} failed: ${String(stderr || err.message).trim()}`,
          { cmd, args, stderr: String(stderr) }));
      } else {
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      }
    });
  });
}

/** runQuiet is run() for cleanup paths: failures are returned, never thrown. */
export async function runQuiet(cmd: string, args: string[]): Promise<Error | null> {
  try {
    await run(cmd, args);
    return null;
  } catch (err) {
    return err as Error;
  }
}
