// in-namespace.ts — what the client helpers need from a lab: a Topology and a Lab both fit.
import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** InNamespace runs bounded commands and long-running processes in a lab role's namespace. */
export interface InNamespace {
  exec(role: string, cmd: string, args: string[], timeoutMs?: number): Promise<string>;
  spawn(role: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
}
