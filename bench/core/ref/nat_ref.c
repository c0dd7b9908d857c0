/*
 * nat_ref.c — bench:core's native reference for the NAT hit path (issue 12): the algorithm of
 * assembly/nat_ref.ts beside it, in C, with __builtin_prefetch in pass 2 where the WASM one can
 * only load a word. Keep the two in step. Built by bench/core/ref/ref.ts (CFLAGS there: the
 * system gcc, -O2, no -march, so it runs on any x86-64 the WASM runs on).
 *
 *   nat_ref bench WORKLOAD   populate the table, then per line "round ITER WARMUP" on stdin run
 *                            WARMUP untimed and ITER timed batches (each copied into the slots
 *                            first, outside the timed window, as the JS harness does) and print
 *                            {"mpps":M,"forwarded":F,"frames":N}: M from the median batch time
 *   nat_ref once WORKLOAD    process the first batch once and write each frame to stdout as
 *                            u32 verdict, u32 length, FRAME_MAX bytes (for the unit test)
 *
 * WORKLOAD (little-endian, written by ref.ts): a header of 8 u32 (magic, sessions, capLog2,
 * batches, batch size, slot size, headroom, 0), then per session 32 bytes (src, dst, ports,
 * proto, rip, rport u32, MAC 6 bytes, 2 unused), then per frame u32 length and FRAME_MAX bytes.
 */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define MAGIC 0x31464e57u /* "WNF1" */
#define FRAME_MAX 128
#define FRAME_REC (4 + FRAME_MAX)
#define ENTRY_SIZE 32
#define ETH_HLEN 14
#define ETH_P_IP_RAW 0x0008u
#define IPPROTO_TCP_ 6u
#define IPPROTO_UDP_ 17u

struct desc { uint32_t off, len, verdict, unused; };
struct scratch { uint32_t bucket, ip; };

static uint8_t *mem;            /* slots: frame offsets in descriptors are relative to it */
static struct desc *descs;
static struct scratch *scr;
static uint8_t *table;
static uint32_t mask;

static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t hash(uint32_t src, uint32_t dst, uint32_t ports, uint32_t proto) {
  uint32_t h = src * 0x9e3779b1u;
  h ^= rotl32(dst, 13) * 0x85ebca77u;
  h ^= (ports ^ (proto << 8)) * 0xc2b2ae3du;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static int insert(uint32_t src, uint32_t dst, uint32_t ports, uint32_t proto, uint32_t rip, uint32_t rport,
                  const uint8_t *mac) {
  uint32_t b = hash(src, dst, ports, proto) & mask;
  for (uint32_t n = 0; n <= mask; n++) {
    uint8_t *e = table + (size_t)b * ENTRY_SIZE;
    uint32_t p = ld32(e + 12);
    if (p == 0 || (ld32(e) == src && ld32(e + 4) == dst && ld32(e + 8) == ports && p == proto)) {
      st32(e, src);
      st32(e + 4, dst);
      st32(e + 8, ports);
      st32(e + 12, proto);
      st32(e + 16, rip);
      st16(e + 20, (uint16_t)rport);
      memcpy(e + 22, mac, 6);
      return 1;
    }
    b = (b + 1) & mask;
  }
  return 0;
}

static inline uint32_t fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  return (sum & 0xffff) + (sum >> 16);
}

static inline uint32_t csum_update(uint32_t check, uint32_t delta) {
  return ~fold((~check & 0xffff) + delta) & 0xffff;
}

static uint32_t process(uint32_t count) {
  /* pass 1: parse and hash */
  for (uint32_t i = 0; i < count; i++) {
    struct desc *d = &descs[i];
    struct scratch *s = &scr[i];
    d->verdict = 0;
    s->ip = 0;
    uint8_t *eth = mem + d->off;
    uint32_t len = d->len;
    if (len < ETH_HLEN + 20 + 8 || ld16(eth + 12) != ETH_P_IP_RAW) continue;
    uint8_t *ip = eth + ETH_HLEN;
    uint32_t vihl = ip[0];
    uint32_t ihl = (vihl & 15) << 2;
    if ((vihl >> 4) != 4 || ihl < 20) continue;
    if (ld16(ip + 6) & 0xff3f) continue; /* MF or a fragment offset */
    uint32_t total = (uint32_t)(ip[2] << 8 | ip[3]);
    uint32_t proto = ip[9];
    uint32_t l4min = proto == IPPROTO_TCP_ ? 20 : proto == IPPROTO_UDP_ ? 8 : 0xffff;
    if (total < ihl + l4min || ETH_HLEN + total > len) continue;
    s->bucket = hash(ld32(ip + 12), ld32(ip + 16), ld32(ip + ihl), proto) & mask;
    s->ip = (uint32_t)(ip - mem);
  }
  /* pass 2: prefetch every candidate's bucket */
  for (uint32_t i = 0; i < count; i++) {
    if (scr[i].ip) __builtin_prefetch(table + (size_t)scr[i].bucket * ENTRY_SIZE);
  }
  /* pass 3: look up, rewrite, checksums */
  uint32_t forwarded = 0;
  for (uint32_t i = 0; i < count; i++) {
    struct scratch *s = &scr[i];
    if (!s->ip) continue;
    uint8_t *ip = mem + s->ip;
    uint8_t *l4 = ip + ((ip[0] & 15) << 2);
    uint32_t proto = ip[9];
    uint32_t src = ld32(ip + 12), dst = ld32(ip + 16), ports = ld32(l4);
    uint32_t b = s->bucket;
    uint8_t *e = NULL;
    for (;;) {
      uint8_t *at = table + (size_t)b * ENTRY_SIZE;
      uint32_t p = ld32(at + 12);
      if (p == 0) break;
      if (ld32(at) == src && ld32(at + 4) == dst && ld32(at + 8) == ports && p == proto) {
        e = at;
        break;
      }
      b = (b + 1) & mask;
    }
    if (!e) continue;
    uint32_t rip = ld32(e + 16);
    uint32_t rport = ld16(e + 20);
    uint32_t addr_delta = (~dst & 0xffff) + (~dst >> 16) + (rip & 0xffff) + (rip >> 16);
    uint32_t port_delta = (~ports >> 16) + rport;
    st16(ip + 10, (uint16_t)csum_update(ld16(ip + 10), addr_delta));
    st32(ip + 16, rip);
    st16(l4 + 2, (uint16_t)rport);
    if (proto == IPPROTO_TCP_) {
      st16(l4 + 16, (uint16_t)csum_update(ld16(l4 + 16), addr_delta + port_delta));
    } else {
      uint32_t c = ld16(l4 + 6);
      if (c != 0) { /* zero: "no checksum", stays zero; a computed zero goes out as 0xffff */
        uint32_t n = csum_update(c, addr_delta + port_delta);
        st16(l4 + 6, (uint16_t)(n == 0 ? 0xffff : n));
      }
    }
    uint8_t *eth = ip - ETH_HLEN;
    memmove(eth + 6, eth, 6);
    memcpy(eth, e + 22, 6);
    descs[i].verdict = 1;
    forwarded++;
  }
  return forwarded;
}

static void die(const char *what) {
  fprintf(stderr, "nat_ref: %s\n", what);
  exit(1);
}

static uint32_t batch_size, slot_size, headroom;
static uint8_t *frames; /* batches x batch_size records of FRAME_REC bytes */

/* what the device read does before each batch: frames into the slots, descriptors set */
static void use_batch(uint32_t b) {
  for (uint32_t i = 0; i < batch_size; i++) {
    const uint8_t *rec = frames + ((size_t)b * batch_size + i) * FRAME_REC;
    uint32_t len = ld32(rec);
    uint32_t off = i * slot_size + headroom;
    memcpy(mem + off, rec + 4, len);
    descs[i].off = off;
    descs[i].len = len;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3 && !(argc == 4 && strcmp(argv[3], "huge") == 0)) die("usage: nat_ref bench|once WORKLOAD [huge]");
  FILE *f = fopen(argv[2], "rb");
  if (!f) die("cannot open the workload");
  uint32_t hdr[8];
  if (fread(hdr, 4, 8, f) != 8 || hdr[0] != MAGIC) die("not a workload file");
  uint32_t sessions = hdr[1], cap_log2 = hdr[2], batches = hdr[3];
  batch_size = hdr[4];
  slot_size = hdr[5];
  headroom = hdr[6];
  if (cap_log2 > 30 || batch_size == 0 || headroom + FRAME_MAX > slot_size) die("bad workload header");
  mask = (1u << cap_log2) - 1;
  size_t table_bytes = ((size_t)mask + 1) * ENTRY_SIZE;
  size_t slots_bytes = ((size_t)batch_size * slot_size + 63) & ~(size_t)63;
  mem = aligned_alloc(64, slots_bytes);
  // huge: the table in transparent huge pages, as bench:core advises the core's memory
  const size_t huge = 2u << 20;
  if (argc == 4) table_bytes = (table_bytes + huge - 1) & ~(huge - 1);
  table = aligned_alloc(argc == 4 ? huge : 64, table_bytes);
  if (table && argc == 4) madvise(table, table_bytes, MADV_HUGEPAGE);
  descs = aligned_alloc(64, ((batch_size * sizeof(struct desc)) + 63) & ~(size_t)63);
  scr = aligned_alloc(64, ((batch_size * sizeof(struct scratch)) + 63) & ~(size_t)63);
  frames = malloc((size_t)batches * batch_size * FRAME_REC);
  if (!mem || !table || !descs || !scr || !frames) die("out of memory");
  memset(mem, 0, slots_bytes);
  memset(table, 0, table_bytes);
  uint8_t rec[32];
  for (uint32_t i = 0; i < sessions; i++) {
    if (fread(rec, 1, 32, f) != 32) die("short workload (sessions)");
    if (!insert(ld32(rec), ld32(rec + 4), ld32(rec + 8), ld32(rec + 12), ld32(rec + 16), ld32(rec + 20), rec + 24)) {
      die("table full");
    }
  }
  if (fread(frames, FRAME_REC, (size_t)batches * batch_size, f) != (size_t)batches * batch_size) die("short workload (frames)");
  fclose(f);

  if (strcmp(argv[1], "once") == 0) {
    use_batch(0);
    process(batch_size);
    for (uint32_t i = 0; i < batch_size; i++) {
      uint8_t out[8 + FRAME_MAX] = {0};
      st32(out, descs[i].verdict);
      st32(out + 4, descs[i].len);
      memcpy(out + 8, mem + descs[i].off, descs[i].len);
      fwrite(out, 1, sizeof out, stdout);
    }
    return 0;
  }
  if (strcmp(argv[1], "bench") != 0) die("usage: nat_ref bench|once WORKLOAD");
  uint32_t next = 0;
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    unsigned iter = 0, warmup = 0;
    if (sscanf(line, "round %u %u", &iter, &warmup) != 2 || iter == 0) die("expected: round ITER WARMUP");
    uint64_t *ns = malloc(iter * sizeof *ns);
    if (!ns) die("out of memory");
    uint64_t forwarded = 0;
    for (unsigned k = 0; k < warmup + iter; k++) {
      use_batch(next++ % batches);
      uint64_t t0 = now_ns();
      uint32_t n = process(batch_size);
      uint64_t t1 = now_ns();
      if (k >= warmup) {
        ns[k - warmup] = t1 - t0;
        forwarded += n;
      }
    }
    qsort(ns, iter, sizeof *ns, cmp_u64);
    double mpps = (double)batch_size / (double)ns[iter / 2] * 1000.0;
    printf("{\"mpps\":%.3f,\"forwarded\":%llu,\"frames\":%llu}\n", mpps, (unsigned long long)forwarded,
           (unsigned long long)iter * batch_size);
    fflush(stdout);
    free(ns);
  }
  return 0;
}
