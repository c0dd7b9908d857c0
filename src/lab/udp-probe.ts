// udp-probe.ts — one UDP question for the lab demo, runnable by Node and Deno alike:
//   udp-probe.js ADDRESS PORT PAYLOAD   prints the answer, or "no answer" (exit 1) after 3 s
import { createSocket } from 'node:dgram';

const [address, port, payload] = process.argv.slice(2);
const s = createSocket('udp4');
const timer = setTimeout(() => {
  console.log('no answer');
  process.exit(1);
}, 3000);
s.on('message', (m) => {
  clearTimeout(timer);
  console.log(m.toString());
  s.close();
});
s.send(payload ?? 'hello', Number(port), address);
