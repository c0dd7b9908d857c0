// http.ts — HTTP_GET / SSL_GET: GET a path; up when the status is one of the expected ones and,
// if asked, the body contains a substring. The body read is capped at 64 KiB.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type Checker, abortable, checkPort, timed } from './checker.js';

const BODY_CAP = 64 * 1024;

export const httpCheck: Checker = (t, signal) => timed(() => abortable(signal, (onAbort) =>
  new Promise((resolve, reject) => {
  const c = t.check;
  const req = (c.tls ? httpsRequest : httpRequest)({
    host: t.address, port: checkPort(t), path: c.path, method: 'GET', agent: false,
    headers: { host: c.host ?? (t.address.includes(':') ? `[${t.address}]` : t.address), 'user-agent': 'wlvs-health', connection: 'close' },
    rejectUnauthorized: c.verify,
  }, (res) => {
    const status = res.statusCode ?? 0;
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      if (body.length < BODY_CAP) body += d;
    });
    res.on('end', () => {
      if (!c.expectStatus.includes(status)) return reject(new Error(`status ${status}, expected ${c.expectStatus.join('|')}`));
      if (c.expectBody !== null && !body.includes(c.expectBody)) return reject(new Error(`body lacks ${JSON.stringify(c.expectBody)}`));
      resolve(`status ${status}`);
    });
    res.on('error', reject);
  });
  onAbort(() => req.destroy());
  req.on('error', (e) => reject(new Error(`${(e as NodeJS.ErrnoException).code ?? e.message}`)));
  req.end();
})));
