// reader.ts — a small typed reader over a YAML document that remembers where every value came
// from, so a validation error can say "lab.yaml:14:17 services[0].real_servers[1].weight:
// expected an integer 0..65535, got "heavy"". All problems are collected, not just the first;
// unknown keys are problems too (a typo must not pass silently).
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from 'yaml';
import { canonicalIp, ipv4ToNumber, isCidr as isCidrAny, isIpv4 as isIpv4Text, isIpv6, numberToIpv4 } from '../model/address.js';

export interface Issue { line: number; col: number; path: string; message: string }

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** Reader walks one document; `issues` holds everything wrong it met. */
export class Reader {
  readonly issues: Issue[] = [];
  #lines: LineCounter;
  #doc: Document | null;

  constructor(lines: LineCounter, doc: Document | null = null) {
    this.#lines = lines;
    this.#doc = doc;
  }

  /** deref follows a YAML alias (*name) to the node its anchor (&name) marks */
  deref(node: Node | null | undefined): Node | undefined {
    if (node && isAlias(node) && this.#doc) return (node.resolve(this.#doc) as Node | undefined) ?? undefined;
    return node ?? undefined;
  }

  problem(node: Node | null | undefined, path: string, message: string): void {
    const pos = node?.range ? this.#lines.linePos(node.range[0]) : { line: 0, col: 0 };
    this.issues.push({ line: pos.line, col: pos.col, path, message });
  }

  /** map reads a mapping, reporting keys not in `known`; null (and a problem) if it is not one */
  map(node: Node | null | undefined, path: string, known: string[]): YAMLMap | null {
    if (!node) return null;
    if (!isMap(node)) {
      this.problem(node, path, 'expected a mapping (key: value lines)');
      return null;
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (!known.includes(key)) {
        this.problem(pair.key as Node, `${path}.${key}`, `unknown key; expected one of ${known.join(', ')}`);
      }
    }
    return node;
  }

  /** get returns the value node of `key` in `map` (undefined when absent) */
  get(map: YAMLMap | null, key: string): Node | undefined {
    if (!map) return undefined;
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key) return this.deref(pair.value as Node | null);
    }
    return undefined;
  }

  seq(node: Node | undefined, path: string): Node[] {
    if (node === undefined) return [];
    if (isScalar(node) && node.value === null) return [];
    if (!isSeq(node)) {
      this.problem(node, path, 'expected a list');
      return [];
    }
    return (node.items as Node[]).map((n) => this.deref(n) as Node);
  }

  #scalar(node: Node | undefined): unknown {
    return isScalar(node) ? node.value : undefined;
  }

  str(map: YAMLMap | null, key: string, path: string, def?: string): string | undefined {
    const node = this.get(map, key);
    if (node === undefined || this.#scalar(node) === null) return def;
    const v = this.#scalar(node);
    if (typeof v !== 'string' && typeof v !== 'number') {
      this.problem(node, `${path}.${key}`, `expected a string, got ${isScalar(node) ? show(v) : 'a structure'}`);
      return def;
    }
    return String(v);
  }

  /** required string */
  need(map: YAMLMap | null, key: string, path: string): string {
    const v = this.str(map, key, path);
    if (v === undefined) {
      this.problem(map, `${path}.${key}`, 'is required');
      return '';
    }
    return v;
  }

  int(map: YAMLMap | null, key: string, path: string, min: number, max: number, def: number): number {
    const node = this.get(map, key);
    if (node === undefined || this.#scalar(node) === null) return def;
    const v = this.#scalar(node);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.problem(node, `${path}.${key}`, `expected an integer ${min}..${max}, got ${isScalar(node) ? show(v) : 'a structure'}`);
      return def;
    }
    return v;
  }

  num(map: YAMLMap | null, key: string, path: string, min: number, max: number, def: number): number {
    const node = this.get(map, key);
    if (node === undefined || this.#scalar(node) === null) return def;
    const v = this.#scalar(node);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.problem(node, `${path}.${key}`, `expected a number ${min}..${max}, got ${isScalar(node) ? show(v) : 'a structure'}`);
      return def;
    }
    return v;
  }

  bool(map: YAMLMap | null, key: string, path: string, def: boolean): boolean {
    const node = this.get(map, key);
    if (node === undefined || this.#scalar(node) === null) return def;
    const v = this.#scalar(node);
    if (typeof v !== 'boolean') {
      this.problem(node, `${path}.${key}`, `expected true or false, got ${isScalar(node) ? show(v) : 'a structure'}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string>(map: YAMLMap | null, key: string, path: string, allowed: readonly T[], def: T): T {
    const v = this.str(map, key, path);
    if (v === undefined) return def;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problem(this.get(map, key), `${path}.${key}`, `expected one of ${allowed.join(', ')}, got ${show(v)}`);
      return def;
    }
    return v as T;
  }

  /** ipv4 checks a dotted quad; returns it or '' */
  ipv4(node: Node | undefined, value: string | undefined, path: string): string {
    if (value === undefined) return '';
    if (!isIpv4(value)) {
      this.problem(node, path, `expected an IPv4 address, got ${show(value)}`);
      return '';
    }
    return value;
  }

  /** ip checks an address of either family, as users write it; returns it in canonical form or '' */
  ip(node: Node | undefined, value: string | undefined, path: string): string {
    if (value === undefined) return '';
    if (!isIpv4(value) && !isIpv6(value)) {
      this.problem(node, path, `expected an IPv4 or IPv6 address like 10.0.0.1 or 2001:db8::1, got ${show(value)}`);
      return '';
    }
    return canonicalIp(value);
  }
}

export const isIpv4 = isIpv4Text;

/** isCidr: an address of either family with an optional prefix (/0..32, /0..128) */
export const isCidr = isCidrAny;

/** the most addresses one prefix in a list of local addresses may stand for */
const MAX_PREFIX_ADDRESSES = 256;

/**
 * addressesOf reads one entry of a list of local addresses (director.fullnat, a cluster member):
 * an IPv4 or IPv6 address, or an IPv4 prefix such as 10.99.3.16/28 for every address in it; [] and a problem
 * when it is neither or stands for more than MAX_PREFIX_ADDRESSES.
 */
export function addressesOf(r: Reader, node: Node, path: string, text: string): string[] {
  const prefix = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(text);
  if (prefix && isCidr(text)) {
    const bits = Number(prefix[2]);
    const count = 2 ** (32 - bits);
    if (count > MAX_PREFIX_ADDRESSES) {
      r.problem(node, path, `${text} stands for ${count} addresses, at most ${MAX_PREFIX_ADDRESSES} (/24) per entry`);
      return [];
    }
    const base = ipv4ToNumber(prefix[1]) & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0);
    return Array.from({ length: count }, (_, k) => numberToIpv4((base + k) >>> 0));
  }
  if (isIpv4(text)) return [text];
  if (isIpv6(text)) return [canonicalIp(text)];
  r.problem(node, path, text.includes(':')
    ? `expected an address or an IPv4 prefix, got ${JSON.stringify(text)} (list IPv6 local addresses one by one)`
    : `expected an IPv4 address or prefix (or an IPv6 address), got ${JSON.stringify(text)}`);
  return [];
}

/** hostPort reads an `IPv4:port` value at `key`; null when it is absent (or wrong: a problem is recorded). */
export function hostPort(r: Reader, m: YAMLMap | null, key: string,
  path: string): { host: string; port: number } | null {
  const text = r.str(m, key, path);
  if (text === undefined) return null;
  const mm = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (!mm || !isIpv4(mm[1]) || Number(mm[2]) < 1 || Number(mm[2]) > 65535) {
    r.problem(r.get(m, key), `${path}.${key}`, `expected IPv4:port like 10.99.3.1:8848, got ${JSON.stringify(text)}`);
    return null;
  }
  return { host: mm[1], port: Number(mm[2]) };
}
