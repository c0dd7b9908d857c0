// steering.c — a queue-steering eBPF program for multi-queue TUN/TAP devices (TUNSETSTEERINGEBPF).
//
// Why: without it the kernel picks a queue from its flow table (tun_automq_select_queue), which
// remembers the queue wlvs last *wrote* a flow's frame on. The director writes a NAT'ed frame on
// the queue of the worker that processed it, the kernel then moves that flow's next frames to
// that worker's queue, and a segment already waiting on the old queue is overtaken: reordering
// between workers (measured: a TOA data segment ahead of the handshake's ACK). With this program
// a frame's queue is a hash of its own addresses and ports and nothing else, so every frame of
// one direction of a flow is read by one worker, whoever wrote the last one.
//
// The hash is symmetric (XOR of the two addresses and of the two ports, then mixed), so where no
// address is rewritten (a flow and its reply through one device) both directions meet on one
// queue too. Fragments and non-TCP/UDP packets hash on addresses only, so every fragment of a
// datagram goes where its first one went. Frames that are not IP (ARP, for a TAP) go to queue 0.
//
// Hand-assembled rather than compiled from C with clang: the program is 40 instructions, and
// this way it needs no BPF toolchain at build time or on the director host. It uses only
// BPF_LD_ABS/IND, which socket-filter programs (the type TUNSETSTEERINGEBPF takes) may use;
// a load past the end of the frame ends the program with 0 (queue 0).
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "steering.h"

#define MAX_INSNS 64

typedef struct {
  struct bpf_insn insn[MAX_INSNS];
  int n;
  // a forward jump waiting for its label: instruction index -> label id
  int fix_at[16], fix_label[16], nfix;
  int label_at[8];
} prog_t;

static void emit(prog_t* p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  if (p->n >= MAX_INSNS) return;  // cannot happen with this program; the kernel would refuse it
  p->insn[p->n++] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}
static void ld_abs(prog_t* p, uint8_t size, int32_t off) { emit(p, BPF_LD | BPF_ABS | size, 0, 0, 0, off); }
static void alu32_imm(prog_t* p, uint8_t op, uint8_t dst, int32_t imm) { emit(p, BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
static void alu32_reg(prog_t* p, uint8_t op, uint8_t dst, uint8_t src) { emit(p, BPF_ALU | op | BPF_X, dst, src, 0, 0); }
static void jump(prog_t* p, uint8_t op, uint8_t dst, int32_t imm, int label) {
  p->fix_at[p->nfix] = p->n;
  p->fix_label[p->nfix++] = label;
  emit(p, BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}
static void label(prog_t* p, int label) { p->label_at[label] = p->n; }
static void ret_zero(prog_t* p) {
  alu32_imm(p, BPF_MOV, BPF_REG_0, 0);
  emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}
/** r0 = ports word (sport << 16 | dport, host order after LD); r7 ^= sport ^ dport */
static void fold_ports(prog_t* p) {
  alu32_reg(p, BPF_MOV, BPF_REG_1, BPF_REG_0);
  alu32_imm(p, BPF_RSH, BPF_REG_1, 16);
  alu32_imm(p, BPF_AND, BPF_REG_0, 0xffff);
  alu32_reg(p, BPF_XOR, BPF_REG_7, BPF_REG_0);
  alu32_reg(p, BPF_XOR, BPF_REG_7, BPF_REG_1);
}

enum { L_V4, L_V6, L_PORTS4, L_PORTS6, L_MIX };

static void build(prog_t* p, int tap) {
  const int32_t b = tap ? 14 : 0;  // where the IP header starts
  memset(p, 0, sizeof *p);
  // LD_ABS takes the packet from r6
  emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
  if (tap) {
    ld_abs(p, BPF_H, 12);  // EtherType
    jump(p, BPF_JEQ, BPF_REG_0, 0x0800, L_V4);
    jump(p, BPF_JEQ, BPF_REG_0, 0x86dd, L_V6);
  } else {
    ld_abs(p, BPF_B, 0);  // IP version
    alu32_imm(p, BPF_RSH, BPF_REG_0, 4);
    jump(p, BPF_JEQ, BPF_REG_0, 4, L_V4);
    jump(p, BPF_JEQ, BPF_REG_0, 6, L_V6);
  }
  ret_zero(p);

  label(p, L_V4);
  ld_abs(p, BPF_W, b + 12);
  alu32_reg(p, BPF_MOV, BPF_REG_7, BPF_REG_0);
  ld_abs(p, BPF_W, b + 16);
  alu32_reg(p, BPF_XOR, BPF_REG_7, BPF_REG_0);
  ld_abs(p, BPF_H, b + 6);  // MF and fragment offset: a fragment hashes on addresses only
  jump(p, BPF_JSET, BPF_REG_0, 0x3fff, L_MIX);
  ld_abs(p, BPF_B, b + 9);
  jump(p, BPF_JEQ, BPF_REG_0, 6, L_PORTS4);
  jump(p, BPF_JEQ, BPF_REG_0, 17, L_PORTS4);
  jump(p, BPF_JA, 0, 0, L_MIX);
  label(p, L_PORTS4);
  ld_abs(p, BPF_B, b);
  alu32_imm(p, BPF_AND, BPF_REG_0, 0x0f);
  alu32_imm(p, BPF_LSH, BPF_REG_0, 2);
  alu32_reg(p, BPF_MOV, BPF_REG_8, BPF_REG_0);
  emit(p, BPF_LD | BPF_IND | BPF_W, 0, BPF_REG_8, 0, b);  // the ports, after the options
  fold_ports(p);
  jump(p, BPF_JA, 0, 0, L_MIX);

  label(p, L_V6);
  for (int k = 0; k < 8; k++) {  // source and destination, 4 words each
    ld_abs(p, BPF_W, b + 8 + 4 * k);
    alu32_reg(p, k == 0 ? BPF_MOV : BPF_XOR, BPF_REG_7, BPF_REG_0);
  }
  // ports only when TCP or UDP follows the fixed header (extension headers: addresses only)
  ld_abs(p, BPF_B, b + 6);
  jump(p, BPF_JEQ, BPF_REG_0, 6, L_PORTS6);
  jump(p, BPF_JEQ, BPF_REG_0, 17, L_PORTS6);
  jump(p, BPF_JA, 0, 0, L_MIX);
  label(p, L_PORTS6);
  ld_abs(p, BPF_W, b + 40);
  fold_ports(p);

  // the kernel keeps the low 16 bits and takes them modulo the queue count: mix first
  label(p, L_MIX);
  alu32_reg(p, BPF_MOV, BPF_REG_0, BPF_REG_7);
  alu32_imm(p, BPF_RSH, BPF_REG_0, 16);
  alu32_reg(p, BPF_XOR, BPF_REG_0, BPF_REG_7);
  alu32_imm(p, BPF_MUL, BPF_REG_0, 0x45d9f3b);
  alu32_reg(p, BPF_MOV, BPF_REG_1, BPF_REG_0);
  alu32_imm(p, BPF_RSH, BPF_REG_1, 16);
  alu32_reg(p, BPF_XOR, BPF_REG_0, BPF_REG_1);
  emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

  for (int i = 0; i < p->nfix; i++) p->insn[p->fix_at[i]].off = (int16_t)(p->label_at[p->fix_label[i]] - p->fix_at[i] - 1);
}

int wlvs_attach_steering(int fd, int tap, char* log, size_t log_len) {
  if (log && log_len) log[0] = 0;
  prog_t p;
  build(&p, tap);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = (uint32_t)p.n;
  attr.insns = (uint64_t)(uintptr_t)p.insn;
  attr.license = (uint64_t)(uintptr_t) "MIT";
  int prog = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog < 0 && errno == EACCES && log && log_len) {
    // the verifier refused it: load again for its reasons (a log too small for a success fails too)
    attr.log_level = 1;
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = (uint32_t)log_len;
    prog = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  }
  if (prog < 0) return -errno;
  // the device holds its own reference to the program: ours can go
  int r = ioctl(fd, TUNSETSTEERINGEBPF, &prog);
  int e = errno;
  close(prog);
  return r < 0 ? -e : 0;
}
