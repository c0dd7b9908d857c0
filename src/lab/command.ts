// command.ts — runs one bounded external command (no shell) for the lab and turns a failure or a
// timeout into WLVS_ERR_COMMAND carrying the command line, the exit code and what it printed.
// It never leaves a process behind: on timeout the command is killed by its PID.
import { spawn } from 'node:child_process';
import { WlvsError } from '../errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** exit code, or null when a signal ended the command */
  code: number | null;
}

export interface CommandOptions {
  /** kill the command after this long (default 30 s): every lab command is bounded */
  timeoutMs?: number;
  /** written to the command's stdin, which is then closed */
  input?: string;
  /** false: resolve with a non-zero exit code instead of rejecting */
  check?: boolean;
}

const MAX_OUTPUT = 16 << 20;

/** command runs `cmd args...` and resolves with its output; rejects with WLVS_ERR_COMMAND. */
export function command(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < MAX_OUTPUT) stdout += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < MAX_OUTPUT) stderr += d; });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const fail = (why: string, code: number | null) => reject(new WlvsError('WLVS_ERR_COMMAND',
      `${[cmd, ...args].join(' ')} ${why}${stderr.trim() ? `: ${stderr.trim().slice(-2000)}` : ''}`,
      { cmd, args, code, stderr, stdout: stdout.slice(-2000), timedOut }));
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(`cannot start (${err.message})`, null);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) fail(`timed out after ${timeoutMs} ms`, code);
      else if (code !== 0 && opts.check !== false) fail(signal ? `ended by ${signal}` : `exited with ${code}`, code);
      else resolve({ stdout, stderr, code });
    });
  });
}
