// checker.ts — the contract of a health probe. A failed probe is a Result, not an exception
// (as seesaw's healthcheck): the runner only counts results and applies rise/fall.
import type { HealthSpec } from '../model/spec.js';

export interface Target {
  /** stable identity, e.g. "web/10.99.2.11:80" */
  id: string;
  service: string;
  address: string;
  port: number;
  check: HealthSpec;
}

export interface Result {
  ok: boolean;
  message: string;
  durationMs: number;
}

/** A Checker probes one target; it must settle by the time `signal` aborts. */
export type Checker = (target: Target, signal: AbortSignal) => Promise<Result>;

export function checkPort(t: Target): number {
  return t.check.port ?? t.port;
}

/** timed runs a probe body and turns its outcome (or its exception) into a Result. */
export async function timed(body: () => Promise<string>): Promise<Result> {
  const t0 = performance.now();
  try {
    const message = await body();
    return { ok: true, message, durationMs: performance.now() - t0 };
  } catch (err) {
    return { ok: false, message: (err as Error).message, durationMs: performance.now() - t0 };
  }
}

/** abortable rejects when `signal` aborts, with a "timed out" message. */
export function abortable<T>(signal: AbortSignal, work: (onAbort: (fn: () => void) => void) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    const fail = () => {
      for (const fn of cleanups) fn();
      reject(new Error('timed out'));
    };
    if (signal.aborted) return fail();
    signal.addEventListener('abort', fail, { once: true });
    work((fn) => cleanups.push(fn)).then(
      (v) => { signal.removeEventListener('abort', fail); resolve(v); },
      (e) => { signal.removeEventListener('abort', fail); reject(e); },
    );
  });
}
