// check.ts — `wlvs check CONFIG` (as `nginx -t`, `haproxy -c`, `keepalived -t`): everything
// `wlvs run` validates before it opens a device — the file's keys and values, what the director
// refuses (device kinds, modes per device, capacities), the admin listener's address and token
// file, the failover key, the WASM core — and nothing that touches the network. Prints every
// problem found and exits 1, or a one-line summary and exits 0.
import { isIP } from 'node:net';
import { loadConfig } from '../config/load.js';
import { checkSpec, planLayout } from '../director/director.js';
import { compileCore, coreModulePath } from '../dataplane/module.js';
import { readToken } from '../api/server.js';
import { loadKey } from '../ha/auth.js';
import { asWlvsError } from '../errors.js';
import type { DirectorSpec } from '../model/spec.js';

export interface CheckResult { ok: boolean; errors: string[]; summary: string | null }

/** checkConfig validates a configuration file as `wlvs run` would, without opening devices. */
export function checkConfig(path: string, corePath = process.env.WLVS_CORE || coreModulePath('release')): CheckResult {
  let spec: DirectorSpec;
  try {
    spec = loadConfig(path);
  } catch (err) {
    // the loader lists every problem of the file at once
    return { ok: false, errors: [asWlvsError(err).message], summary: null };
  }
  const errors: string[] = [];
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      errors.push(`${path}: ${what}: ${asWlvsError(err).message}`);
    }
  };
  attempt('director', () => checkSpec(spec));
  let memoryMiB = 0;
  attempt('capacities', () => {
    memoryMiB = Math.ceil(planLayout(spec).layout.memoryBytes / (1 << 20));
  });
  if (spec.admin) {
    const admin = spec.admin;
    attempt('director.admin.listen', () => {
      const i = admin.listen.lastIndexOf(':');
      const port = Number(admin.listen.slice(i + 1));
      if (i < 0 || !isIP(admin.listen.slice(0, i)) || !Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`expected ADDRESS:PORT like 127.0.0.1:9180, got ${JSON.stringify(admin.listen)}`);
      }
    });
    if (admin.tokenFile) attempt('director.admin.token_file', () => readToken(admin.tokenFile!));
  }
  if (spec.ha?.authKeyFile) attempt('director.ha.auth_key_file', () => loadKey(spec.ha!.authKeyFile!));
  attempt('WASM core', () => compileCore(corePath));
  if (errors.length) return { ok: false, errors, summary: null };
  const rs = spec.services.reduce((n, s) => n + s.realServers.length, 0);
  return {
    ok: true, errors,
    summary: `configuration ${path} is valid: ${spec.devices.length} device(s), ${spec.services.length} service(s), ` +
      `${rs} real server(s), ${memoryMiB} MiB of data-path memory`,
  };
}

export function checkCommand(argv: string[]): void {
  const r = checkConfig(argv[0]);
  if (r.ok) {
    console.log(`wlvs: ${r.summary}`);
    return;
  }
  for (const e of r.errors) console.error(e);
  console.error(`wlvs: configuration ${argv[0]} is NOT valid`);
  process.exitCode = 1;
}
