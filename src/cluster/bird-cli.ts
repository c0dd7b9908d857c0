// bird-cli.ts — a client of BIRD's control socket, speaking the protocol birdc speaks (BIRD 2
// doc/prog: "the CLI protocol"): the daemon greets with `0001 BIRD <version> ready.`; each
// command is one line; each reply is a run of lines `DDDD-text` (more follow), ` text` (more of
// the same code) and ends with a line `DDDD text`. Codes 0xxx are results, 1xxx/2xxx table rows
// and headers, 8xxx run-time errors and 9xxx parse errors. wlvs talks to its BIRD this way
// rather than through birdc: one connection kept open, no process forked per change, and
// reply codes instead of screen text. Commands are sent one at a time, in order.
import { connect, type Socket } from 'node:net';
import { WlvsError } from '../errors.js';

/** One line of a reply: its code (the previous line's for a continuation) and its text. */
export interface ReplyLine { code: number; text: string }

export interface BirdReply {
  /** the code of the last line */
  code: number;
  lines: ReplyLine[];
}

interface Pending {
  command: string;
  resolve: (r: BirdReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** ReplyParser turns socket bytes into complete replies. */
export class ReplyParser {
  #buffer = '';
  #lines: ReplyLine[] = [];
  #lastCode = 0;

  /** push adds data and returns every reply it completed */
  push(data: string): BirdReply[] {
    this.#buffer += data;
    const out: BirdReply[] = [];
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      const m = /^(\d{4})([ -])(.*)$/.exec(line);
      if (m) {
        this.#lastCode = Number(m[1]);
        this.#lines.push({ code: this.#lastCode, text: m[3] });
        if (m[2] === ' ') {
          out.push({ code: this.#lastCode, lines: this.#lines });
          this.#lines = [];
        }
      } else {
        // a continuation line starts with a space; anything else is kept as text of the last code
        this.#lines.push({ code: this.#lastCode, text: line.startsWith(' ') ? line.slice(1) : line });
      }
    }
    return out;
  }
}

/** BirdClient is one open connection to a BIRD control socket. */
export class BirdClient {
  readonly version: string;
  #socket: Socket;
  #parser: ReplyParser;
  #queue: Pending[] = [];
  #closed: Error | null = null;

  private constructor(socket: Socket, parser: ReplyParser, version: string) {
    this.#socket = socket;
    this.#parser = parser;
    this.version = version;
    socket.on('data', (d: string) => {
      for (const reply of this.#parser.push(d)) this.#settle(reply);
    });
    const gone = (why: string) => {
      if (this.#closed) return;
      this.#closed = new WlvsError('WLVS_ERR_BIRD', `BIRD control socket closed: ${why}`);
      for (const p of this.#queue.splice(0)) {
        clearTimeout(p.timer);
        p.reject(this.#closed);
      }
    };
    socket.on('error', (err) => gone(err.message));
    socket.on('close', () => gone('connection closed'));
  }

  /** connect opens `path` and waits for the greeting; rejects with WLVS_ERR_BIRD. */
  static connect(path: string, timeoutMs = 3000): Promise<BirdClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.setEncoding('utf8');
      const parser = new ReplyParser();
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new WlvsError('WLVS_ERR_BIRD', `cannot talk to BIRD at ${path}: ${why}`, { path }));
      };
      const timer = setTimeout(() => fail(`no greeting within ${timeoutMs} ms`), timeoutMs);
      const onData = (d: string) => {
        const [hello] = parser.push(d);
        if (!hello) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        if (hello.code !== 1) {
          socket.destroy();
          reject(new WlvsError('WLVS_ERR_BIRD', `unexpected greeting from BIRD at ${path}: ${hello.lines[0]?.text}`, { path }));
          return;
        }
        const version = /BIRD (\S+)/.exec(hello.lines[0]?.text ?? '')?.[1] ?? 'unknown';
        resolve(new BirdClient(socket, parser, version));
      };
      const onError = (err: Error) => fail(err.message);
      socket.on('data', onData);
      socket.once('error', onError);
    });
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  /**
   * request sends one command and resolves with its reply; a reply with an error code (8xxx,
   * 9xxx) or a timeout rejects with WLVS_ERR_BIRD.
   */
  request(command: string, timeoutMs = 5000): Promise<BirdReply> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (/[\r\n]/.test(command)) return Promise.reject(new WlvsError('WLVS_ERR_USAGE', 'a BIRD command is one line'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // the reply may still come and would be taken for the next command's: start afresh
        this.close();
        reject(new WlvsError('WLVS_ERR_BIRD', `BIRD did not answer "${command}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#queue.push({ command, resolve, reject, timer });
      this.#socket.write(`${command}\n`);
    });
  }

  #settle(reply: BirdReply): void {
    const p = this.#queue.shift();
    if (!p) return;
    clearTimeout(p.timer);
    if (reply.code >= 8000) {
      p.reject(new WlvsError('WLVS_ERR_BIRD', `BIRD refused "${p.command}": ${reply.lines.map((l) => l.text).join('; ')}`,
        { code: reply.code }));
    } else {
      p.resolve(reply);
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** One protocol row of `show protocols`. */
export interface ProtocolRow { name: string; proto: string; table: string; state: string; since: string; info: string }

/** parseProtocols reads the rows of a `show protocols` reply. */
export function parseProtocols(reply: BirdReply): ProtocolRow[] {
  const rows: ProtocolRow[] = [];
  for (const l of reply.lines) {
    if (l.code !== 1002) continue;
    // Name Proto Table State Since Info; "Since" is a time (and maybe a date), Info the rest
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+(?: \d\d:\d\d:\d\d(?:\.\d+)?)?)\s*(.*)$/.exec(l.text);
    if (m) rows.push({ name: m[1], proto: m[2], table: m[3], state: m[4], since: m[5], info: m[6].trim() });
  }
  return rows;
}
