// progress.ts — progress lines for the long commands (bench:e2e, lab demos): which step runs,
// how far along, and the time since the start, as each step begins, so a run that takes minutes
// never sits silent. Lines go to stderr: stdout stays for results (tables, JSON rows).
export class Progress {
  #t0 = performance.now();
  #done = 0;
  #total: number | null;
  #write: (line: string) => void;

  /** `total` steps when known (shown as k/N with an estimate of what is left) */
  constructor(total: number | null = null, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
    this.#total = total;
    this.#write = write;
  }

  /** elapsed seconds since the start */
  get elapsed(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  /** step announces the next step */
  step(label: string): void {
    this.#done++;
    const e = this.elapsed;
    let where = '';
    if (this.#total) {
      const left = this.#done > 1 ? Math.round((e / (this.#done - 1)) * (this.#total - this.#done + 1)) : null;
      where = ` (${this.#done}/${this.#total}${left !== null ? `, ~${left} s left` : ''})`;
    }
    this.#write(`[${e.toFixed(1).padStart(6)} s]${where} ${label}`);
  }
}
