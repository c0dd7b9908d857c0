// workers.ts — how many data-path workers a director runs when its config names none
// (director.workers absent or `auto`): one per core this process may run on, as HAProxy's
// nbthread and nginx's `worker_processes auto` count them.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MAX_WORKERS, type DirectorSpec } from '../model/spec.js';

/** linux/if_tun.h: the device was created with one queue per open fd */
const IFF_MULTI_QUEUE = 0x0100;

/** coreWorkers: the cores this process may run on (its CPU affinity, not the machine's count), at most MAX_WORKERS */
export function coreWorkers(): number {
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
}

/**
 * existingSingleQueue: a TUN/TAP of that name exists already, made without IFF_MULTI_QUEUE, so
 * it can never give more than one worker a queue (sysfs's tun_flags; absent: no such device)
 */
export function existingSingleQueue(name: string): boolean {
  let flags: number;
  try {
    flags = parseInt(readFileSync(`/sys/class/net/${name}/tun_flags`, 'utf8'), 16);
  } catch {
    return false;
  }
  return Number.isFinite(flags) && (flags & IFF_MULTI_QUEUE) === 0;
}

export interface WorkerChoice {
  workers: number;
  /** why that many: the config's value, the cores, or the device that keeps it at one */
  reason: string;
}

/**
 * chooseWorkers resolves director.workers: the configured count, else the cores available, else
 * one when a configured device exists already with a single queue (someone made it for wlvs
 * before, as one worker always allowed; a multi-queue open of it would fail)
 */
export function chooseWorkers(spec: Pick<DirectorSpec, 'workers' | 'devices'>, cores = coreWorkers(),
  singleQueue: (name: string) => boolean = existingSingleQueue): WorkerChoice {
  if (spec.workers !== undefined) return { workers: spec.workers, reason: 'director.workers' };
  if (cores > 1) {
    const held = spec.devices.find((d) => singleQueue(d.name));
    if (held) return { workers: 1, reason: `auto: device ${held.name} exists already with one queue` };
  }
  return { workers: cores, reason: `auto: ${cores} core${cores > 1 ? 's' : ''} available` };
}
