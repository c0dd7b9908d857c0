// tcp.ts — TCP_CHECK: the server is up when a connection to the check port completes.
import { connect } from 'node:net';
import { hostPort } from '../model/address.js';
import { type Checker, abortable, checkPort, timed } from './checker.js';

export const tcpCheck: Checker = (t, signal) => timed(() => abortable(signal, (onAbort) =>
  new Promise((resolve, reject) => {
  const s = connect({ host: t.address, port: checkPort(t) });
  onAbort(() => s.destroy());
  s.once('connect', () => {
    s.destroy();
    resolve(`connected to ${hostPort(t.address, checkPort(t))}`);
  });
  s.once('error', (e) => reject(new Error(`connect: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
})));
