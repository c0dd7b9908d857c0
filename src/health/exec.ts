// exec.ts — MISC_CHECK: run a command; exit 0 = up. The target is in its environment
// (WLVS_RS_ADDRESS, WLVS_RS_PORT, WLVS_SERVICE). A command still running at the timeout is
// killed with its process group, so a hung script never piles up.
import { spawn } from 'node:child_process';
import { type Checker, abortable, checkPort, timed } from './checker.js';

export const execCheck: Checker = (t, signal) => timed(() => abortable(signal, (onAbort) =>
  new Promise((resolve, reject) => {
  const child = spawn('/bin/sh', ['-c', t.check.command ?? 'false'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, WLVS_RS_ADDRESS: t.address, WLVS_RS_PORT: String(checkPort(t)), WLVS_SERVICE: t.service },
  });
  onAbort(() => {
    try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  });
  child.once('error', (e) => reject(e));
  child.once('exit', (code, sig) => {
    if (code === 0) resolve('exit 0');
    else reject(new Error(sig ? `killed by ${sig}` : `exit ${code}`));
  });
})));
