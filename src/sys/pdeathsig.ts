// pdeathsig.ts — ties a child process's life to its parent's: the kernel sends the child SIGKILL
// when the parent dies (prctl PR_SET_PDEATHSIG, set by util-linux's setpriv before exec), even
// when the parent is killed by SIGKILL and no exit hook can run.
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

/** canTieToParent says whether tiedToParent() really ties (setpriv is installed). */
export const canTieToParent = SETPRIV !== null;

/** tiedToParent returns the command line that runs `cmd args` killed with its parent. */
export function tiedToParent(cmd: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
}
