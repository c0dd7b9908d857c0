// rs-udp.ts — the UDP echo a lab real server runs: each datagram is answered with
// `<server name>|<source address it saw>|<payload>`.
//   node rs-udp.js --name rs1 [--port 5353] [--addr 0.0.0.0]
// It prints `ready <name> <addr>:<port>` once bound and exits 0 on SIGTERM/SIGINT.
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'rs' },
    port: { type: 'string', default: '5353' },
    addr: { type: 'string', default: '0.0.0.0' },
  },
});
const name = values.name!;

const socket = createSocket('udp4');
socket.on('message', (payload, from) => {
  socket.send(Buffer.concat([Buffer.from(`${name}|${from.address}|`), payload]), from.port, from.address);
});
socket.bind(Number(values.port), values.addr, () => console.log(`ready ${name} ${values.addr}:${values.port}`));

const stop = () => socket.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
