// module.ts — loads the WASM core, checks it against the ABI and the memory it must share, and
// exposes its exports. A module that does not fit (wrong ABI, static data reaching into the
// header, unexpected imports, a memory that is not shared) is refused before it sees a packet.
//
// The core imports a shared memory (asconfig.json: threads, sharedMemory): the data path runs
// it in a worker thread while the control plane's own instance of the same module, on the main
// thread, writes tables between batches (src/io/port.ts). Instantiating writes the module's
// active data segment (constant tables below HEADER_BASE) again: the same bytes for the same
// module, so an instance on one thread never sees another's change; a different module
// (hot-swap) is instantiated only while no batch runs (the port's exclusive()).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as abi from './abi.js';
import type { CoreExports } from './abi.js';
import { WlvsError } from '../errors.js';

export type CoreFlavour = 'release' | 'debug';

const buildDir = fileURLToPath(new URL('../../../build/', import.meta.url));

export function coreModulePath(flavour: CoreFlavour = 'release'): string {
  return `${buildDir}${flavour === 'release' ? 'core.wasm' : 'core.debug.wasm'}`;
}

/** compileCore compiles a module from a file (default: the built release core). */
export function compileCore(path: string = coreModulePath()): WebAssembly.Module {
  try {
    return new WebAssembly.Module(readFileSync(path));
  } catch (err) {
    throw new WlvsError('WLVS_ERR_CORE_LOAD', `cannot load WASM core ${path}: ${(err as Error).message}`);
  }
}


/**
 * instantiateCore binds a compiled core to the shared memory. It throws WLVS_ERR_CORE_LOAD
 * when the module imports anything but env.memory (and env.abort in debug builds), lacks an
 * export, speaks another ABI version, or has static data above HEADER_BASE.
 */
export function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory): CoreExports {
  for (const imp of WebAssembly.Module.imports(module)) {
    const ok = imp.module === 'env' && (imp.name === 'memory' || imp.name === 'abort');
    if (!ok) throw new WlvsError('WLVS_ERR_CORE_LOAD', `WASM core imports unexpected ${imp.module}.${imp.name}`);
  }
  if (!(memory.buffer instanceof SharedArrayBuffer)) {
    throw new WlvsError('WLVS_ERR_CORE_LOAD', 'the WASM core runs over a shared memory (createMemory); this one is not shared');
  }
  let instance: WebAssembly.Instance;
  try {
    instance = instantiate(module, memory);
  } catch (err) {
    // a core built without the threads feature imports an unshared memory: LinkError
    throw new WlvsError('WLVS_ERR_CORE_LOAD', `WASM core does not link to the shared memory: ${(err as Error).message}`);
  }
  const ex = instance.exports as unknown as CoreExports;
  for (const name of abi.CORE_EXPORTS) {
    if (typeof ex[name] !== 'function') throw new WlvsError('WLVS_ERR_CORE_LOAD', `WASM core lacks export ${name}`);
  }
  if (ex.abiVersion() !== abi.ABI_VERSION) {
    throw new WlvsError('WLVS_ERR_CORE_LOAD', `WASM core speaks ABI ${ex.abiVersion()}, host ${abi.ABI_VERSION}`);
  }
  if (ex.staticEnd() > abi.HEADER_BASE) {
    throw new WlvsError('WLVS_ERR_CORE_LOAD',
      `WASM core static data ends at ${ex.staticEnd()}, above the header at ${abi.HEADER_BASE}`);
  }
  return ex;
}

function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Instance {
  return new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(msg: number, file: number, line: number, col: number): never {
        throw new WlvsError('WLVS_ERR_WASM_TRAP',
          `WASM core aborted at ${readAsString(memory, file)}:${line}:${col}: ${readAsString(memory, msg)}`);
      },
    },
  });
}

/** AssemblyScript strings: UTF-16 with the byte length in the u32 before the pointer. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '?';
  const bytes = new DataView(memory.buffer).getUint32(ptr - 4, true);
  return Buffer.from(memory.buffer, ptr, bytes).toString('utf16le');
}
