// formatStatus's header lines (wlvs status): the workers line names each worker's packets in, the
// queue steering, and with more than one worker how often the shared table's lock made one wait.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatStatus } from '../../src/cli/admin.js';

const worker = (rx: number) => ({ rx_frames: rx, tx_frames: rx, batches: 1 });

describe('wlvs status header', () => {
  it('two workers: packets in per worker, steering, table lock waits', () => {
    const out = formatStatus({
      services: [], sessions: { count: 3, capacity: 1024 }, workers: [worker(10), worker(7)],
      table_lock: { waits: 42, sleeps: 5 }, devices: [{ name: 'wlvs-ext', steering: 'flow-hash' }],
    }).split('\n');
    assert.equal(out[0], 'wlvs (sessions=3/1024)');
    assert.equal(out[1], 'workers: 2 (packets in: 0=10 1=7), queues by flow-hash, table lock waits 42 (5 sleeps)');
  });

  it('one worker: no lock to wait for, none shown', () => {
    const out = formatStatus({ services: [], workers: [worker(4)], table_lock: { waits: 0, sleeps: 0 } }).split('\n');
    assert.equal(out[1], 'workers: 1 (packets in: 0=4)');
  });
});
