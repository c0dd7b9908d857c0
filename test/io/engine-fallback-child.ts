// engine-fallback-child.ts — run by engine-fallback.test.ts under test/fixtures/without-io-uring.py
// (io_uring refused, as a container's seccomp profile does): starts the socket-pair director of
// worker-port.test.ts with director.io_engine from argv[2], sends one SYN through it and prints
// one JSON line: the engines the workers run, the io_engine log lines, whether the SYN went
// through, or the error the start failed with.
import { parseConfig } from '../../src/config/load.js';
import { Director } from '../../src/director/director.js';
import { KernelRoutes } from '../../src/director/kernel-routes.js';
import type { IoEngine } from '../../src/model/spec.js';
import { TAP_DIRECTOR, fromClient, recordingKernel, recordingLog, webService } from '../director/fixture.js';
import { PairIo, Wire, until } from './socket-pairs.js';

const engine = (process.argv[2] ?? 'auto') as IoEngine;
const io = new PairIo();
const wire = new Wire(io);
const { log, lines } = recordingLog();
let dir: Director | undefined;
try {
  const spec = { ...parseConfig(TAP_DIRECTOR + `services:${webService({ weights: [1, 1, 1] })}`, 'test.yaml'), workers: 1,
    ioEngine: engine };
  dir = await Director.start({ spec, log, io, kernelRoutes: new KernelRoutes(recordingKernel().sys) });
  wire.send(0, fromClient({ sport: 41000, dport: 80, flags: 'S', seq: 1 }));
  await until(() => wire.frames[1].length === 1, 'the forwarded SYN');
  console.log(JSON.stringify({ engines: dir.ioEngines(), logs: lines.filter((l) => l.event === 'io_engine'),
    forwarded: wire.frames[1].length }));
} catch (err) {
  console.log(JSON.stringify({ error: (err as Error).message, code: (err as { code?: string }).code }));
} finally {
  await dir?.stop();
  wire.stop();
}
