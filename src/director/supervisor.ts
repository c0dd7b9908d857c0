// supervisor.ts — the control plane around a running director: health checks that quiesce or
// remove failed real servers and bring them back, and configuration reloads (file or runtime
// edits) applied between batches. The admin API is wired to it in cli/run.ts, through
// control.ts: nothing here knows the API.
import { loadConfig } from '../config/load.js';
import { realServerKey, type DirectorSpec } from '../model/spec.js';
import type { Director } from './director.js';
import { HealthRunner, type RunnerOptions, type Transition } from '../health/runner.js';
import type { Target } from '../health/checker.js';
import type { Logger } from '../log.js';
import type { ApplyReport } from './apply.js';
import { WlvsError } from '../errors.js';

/** healthTargets lists one check target per real server (sorry servers are not checked). */
function healthTargets(spec: DirectorSpec): Target[] {
  const out: Target[] = [];
  for (const s of spec.services) {
    for (const r of s.realServers) {
      const check = r.health ?? s.health;
      if (!check) continue;
      out.push({ id: `${s.name}/${realServerKey(r)}`, service: s.name, address: r.address, port: r.port || s.port, check });
    }
  }
  return out;
}

/** Supervisor runs the health checks of a director and applies reloads and runtime edits to it. */
export class Supervisor {
  readonly health: HealthRunner;
  #dir: Director;
  #log: Logger;
  #configPath: string | null;
  /** runtime edits since the last file load: a file reload replaces them, as with ipvsadm */
  runtimeEdits = 0;

  /** `health` chooses the checkers (tests give scripted ones); `configPath` null: no file to reload. */
  constructor(dir: Director, log: Logger, configPath: string | null, health: RunnerOptions = {}) {
    this.#dir = dir;
    this.#log = log;
    this.#configPath = configPath;
    this.health = new HealthRunner((t) => this.#onTransition(t), health);
  }

  get director(): Director {
    return this.#dir;
  }

  /** start begins checking every real server; all begin "up". */
  start(): void {
    // servers present at start begin "up", as keepalived's: a restart must not drop all traffic
    this.health.setTargets(healthTargets(this.#dir.spec), 'up');
  }

  #onTransition(t: Transition): void {
    const [service, rs] = [t.target.service, t.target.id.slice(t.target.service.length + 1)];
    this.#log.info({
      event: 'health', service, real_server: rs, from: t.from, to: t.to, reason: t.result.message,
      duration_ms: Math.round(t.result.durationMs),
    }, `real server ${rs} of ${service} is ${t.to}`);
    this.#dir.applier.setHealth(service, rs, t.to === 'up', this.#dir.spec);
  }

  /** reload re-reads the configuration file and applies the difference; an invalid file changes nothing. */
  async reload(reason: string): Promise<ApplyReport> {
    if (!this.#configPath) throw new WlvsError('WLVS_ERR_USAGE', 'no configuration file to reload');
    let spec: DirectorSpec;
    try {
      spec = loadConfig(this.#configPath);
    } catch (err) {
      this.#log.error({ event: 'reload_rejected', reason, err: (err as Error).message }, 'reload rejected; running configuration kept');
      throw err;
    }
    const report = await this.apply(spec, reason);
    this.runtimeEdits = 0;
    return report;
  }

  /** apply installs a validated spec (reload or runtime edit) and re-targets the health checks. */
  async apply(spec: DirectorSpec, reason: string): Promise<ApplyReport> {
    let report: ApplyReport;
    try {
      report = await this.#dir.reload(spec);
    } catch (err) {
      this.#log.error({ event: 'reload_rejected', reason, err: (err as Error).message }, 'change rejected; running configuration kept');
      throw err;
    }
    this.health.setTargets(healthTargets(spec), 'up');
    // health verdicts survive a reload: reapply the current ones to the new tables
    for (const t of healthTargets(spec)) {
      const st = this.health.state(t.id);
      if (st === 'down') this.#dir.applier.setHealth(t.service, t.id.slice(t.service.length + 1), false, spec);
    }
    this.#log.info({ event: 'reloaded', reason, ...report }, 'configuration applied');
    return report;
  }

  /** edit applies a runtime change computed from the current spec */
  async edit(change: (spec: DirectorSpec) => DirectorSpec, reason: string): Promise<ApplyReport> {
    const spec = change(this.#dir.spec);
    const report = await this.apply(spec, reason);
    this.runtimeEdits++;
    return report;
  }

  stop(): void {
    this.health.stop();
  }
}
