// pin.ts — CPU affinity of whole process groups for the end-to-end benchmarks: a balancer started
// by the lab is its own process group (wlvs with its worker threads, nginx's master and workers),
// so pinning it means every thread of every process in the group.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

/** groupTasks lists every thread (/proc/PID/task) of every process in a process group */
function groupTasks(pgid: number): string[] {
  let pids: string[];
  try {
    pids = execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when the group is gone
  }
  return pids.flatMap((pid) => {
    try { return readdirSync(`/proc/${pid}/task`); } catch { return []; }
  });
}

/**
 * pinGroups puts every thread of the given process groups on `cpu` and returns a function that
 * gives each thread back the CPU list it had. Per thread, not `taskset -a` per process: restoring
 * then needs no assumption about what the threads had (the servers run on 1, the rest on 0-1).
 */
export function pinGroups(pgids: number[], cpu: number): () => void {
  const saved: [string, string][] = [];
  const restore = () => {
    for (const [tid, list] of saved) {
      try { execFileSync('taskset', ['-p', '-c', list, tid], { stdio: 'ignore' }); } catch { /* the thread ended */ }
    }
  };
  try {
    for (const tid of pgids.flatMap(groupTasks)) {
      const list = /list: (\S+)/.exec(execFileSync('taskset', ['-c', '-p', tid], { encoding: 'utf8' }))?.[1];
      if (!list) continue;
      saved.push([tid, list]);
      execFileSync('taskset', ['-p', '-c', String(cpu), tid], { stdio: 'ignore' });
    }
  } catch (err) {
    // a thread that ended between pgrep and taskset: undo what was done, fail the metric
    restore();
    throw err;
  }
  return restore;
}
