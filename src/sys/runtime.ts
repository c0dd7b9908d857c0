// runtime.ts — which JavaScript runtime runs wlvs (Node or Deno 2) and how to start another wlvs
// program with one: the lab starts the director, the real-server programs and probes with the
// runtime it runs on (or WLVS_RUNTIME's), so `deno run -A bin/wlvs.js lab demo` is Deno all the way.
// Deno would translate Node's arguments for its own executable, but says nothing about
// permissions there; wlvs asks for them explicitly (-A: devices, namespaces, the native addon).
import { existsSync } from 'node:fs';
import { WlvsError } from '../errors.js';

export type Runtime = 'node' | 'deno';

/** the runtime executing this process */
export const currentRuntime: Runtime = 'Deno' in globalThis ? 'deno' : 'node';

/** parseRuntime checks a runtime name (a flag, WLVS_RUNTIME). */
export function parseRuntime(name: string): Runtime {
  if (name === 'node' || name === 'deno') return name;
  throw new WlvsError('WLVS_ERR_USAGE', `unknown runtime ${JSON.stringify(name)}: node or deno`);
}

/** labRuntime: the runtime for programs the lab starts: WLVS_RUNTIME, else this one */
export function labRuntime(): Runtime {
  const env = process.env.WLVS_RUNTIME;
  return env ? parseRuntime(env) : currentRuntime;
}

/**
 * executable finds a runtime's program: this process's own when it is that runtime; Deno from
 * the project's devDependency (npm's `deno` package) or WLVS_DENO; Node from WLVS_NODE or PATH.
 */
export function executable(runtime: Runtime): string {
  if (runtime === currentRuntime) return process.execPath;
  if (runtime === 'node') return process.env.WLVS_NODE ?? 'node';
  const fromPackage = new URL('../../../node_modules/.bin/deno', import.meta.url).pathname;
  const deno = process.env.WLVS_DENO ?? (existsSync(fromPackage) ? fromPackage : null);
  if (!deno) throw new WlvsError('WLVS_ERR_USAGE', `no deno executable: npm install (the deno devDependency) or set WLVS_DENO`);
  return deno;
}

/** scriptCommand: [program, args] that runs a JavaScript file with `runtime` */
export function scriptCommand(script: string, args: string[], runtime: Runtime = labRuntime()): [string, string[]] {
  const exe = executable(runtime);
  return runtime === 'deno' ? [exe, ['run', '-A', script, ...args]] : [exe, [script, ...args]];
}
