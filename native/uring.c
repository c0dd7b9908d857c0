// uring.c — the port's io_uring engine: one multishot read per device takes frames straight into
// the frame slots through a ring of provided buffers (one buffer = one slot), the batch's FORWARD
// frames go out as write requests that one io_uring_enter() submits, and the next one sleeps
// until the next frame arrives. Against the epoll engine (epoll_wait, a read() per frame and one
// more that returns EAGAIN, a write() per frame) that is two system calls per wake-up instead of
// 2 + 2 per frame; the kernel's own work per frame (the copies, the forwarding a TAP write runs)
// stays.
//
// A slot belongs to the kernel from the moment it is in the buffer ring until its frame's read
// completes, then to the batch, then (a FORWARD frame) to its write request until that completes;
// only then is it handed back to the ring. So a batch's frames lie in any slots, not 0..n-1:
// descriptor i's DESC_OFF says where (assembly/batch.ts slotEnd reads it the same way).
//
// Raw system calls on <linux/io_uring.h>, not liburing: Debian 12's liburing (2.3) predates
// multishot read (Linux 6.7), which this engine needs; uring_open probes the kernel for it, and
// where it is missing createPort takes epoll (io_engine auto) or fails with the reason (io_uring).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "port.h"

// Linux 6.7; Debian 12's uapi headers (6.1) do not name it
#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT 49
#endif
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

// the one buffer group of a port: every device's read takes slots from it
#define BGID 0

// user_data: what a completion is for | device | slot
#define UD_READ 1ull
#define UD_WRITE 2ull
#define UD_WAKER 3ull
#define UD(kind, dev, bid) (((kind) << 40) | ((uint64_t)(dev) << 32) | (uint64_t)(bid))
#define UD_KIND(u) ((u) >> 40)
#define UD_DEV(u) ((int)(((u) >> 32) & 0xff))
#define UD_BID(u) ((uint32_t)((u) & 0xffffffffu))

// a device whose read fails this many times in a row without a frame is a failure, not a hiccup
#define MAX_READ_FAILS 64

typedef struct {
  uint16_t bid;
  uint8_t dev;
  uint32_t len;
} rx_t;

struct uring {
  int fd;
  void* sq_ring;
  size_t sq_ring_len;
  void* cq_ring;  // == sq_ring with IORING_FEAT_SINGLE_MMAP
  size_t cq_ring_len;
  struct io_uring_sqe* sqes;
  size_t sqes_len;
  unsigned *sq_head, *sq_tail, sq_mask, sq_entries, sq_local;
  unsigned *cq_head, *cq_tail, cq_mask;
  struct io_uring_cqe* cqes;
  struct io_uring_buf_ring* br;
  size_t br_len;
  unsigned br_mask;
  uint16_t br_tail;
  unsigned queued;        // SQEs written since the last submission
  uint32_t armed;         // bit per device: its multishot read is live
  int waker_armed;
  int primed;             // the slots were handed to the buffer ring (once the vnet setting is known)
  unsigned fails[WLVS_MAX_DEVICES];
  rx_t* rx;               // frames reaped, waiting for their device's batch (at most slot_count)
  uint32_t nrx;
  uint16_t* batch_bid;    // slot of each descriptor of the running batch
};

static int sys_setup(unsigned entries, struct io_uring_params* p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(port_t* p, unsigned submit, unsigned min, unsigned flags, void* arg, size_t argsz) {
  p->stats[PORT_STAT_SYSCALLS]++;
  return (int)syscall(__NR_io_uring_enter, p->ur->fd, submit, min, flags, arg, argsz);
}

static int sys_register(int fd, unsigned op, void* arg, unsigned n) {
  return (int)syscall(__NR_io_uring_register, fd, op, arg, n);
}

/** give slot `bid` back to the kernel: the next read may fill it (published by br_publish) */
static void br_give(port_t* p, uint32_t bid) {
  struct uring* u = p->ur;
  const size_t vlen = port_vlen(p);
  struct io_uring_buf* b = &u->br->bufs[u->br_tail & u->br_mask];
  b->addr = (uint64_t)(uintptr_t)(p->mem + port_slot_frame(p, bid) - vlen);
  b->len = (uint32_t)(p->slot_size - p->headroom + vlen);
  b->bid = (uint16_t)bid;
  u->br_tail++;
}

static void br_publish(struct uring* u) {
  atomic_store_explicit((_Atomic uint16_t*)&u->br->tail, u->br_tail, memory_order_release);
}

/** the next free SQE, zeroed; NULL when the queue is full (cannot happen at the sizes chosen) */
static struct io_uring_sqe* sqe_get(struct uring* u) {
  unsigned head = atomic_load_explicit((_Atomic unsigned*)u->sq_head, memory_order_acquire);
  if (u->sq_local - head >= u->sq_entries) return NULL;
  struct io_uring_sqe* s = &u->sqes[u->sq_local & u->sq_mask];
  memset(s, 0, sizeof *s);
  u->sq_local++;
  u->queued++;
  return s;
}

static void sq_publish(struct uring* u) {
  atomic_store_explicit((_Atomic unsigned*)u->sq_tail, u->sq_local, memory_order_release);
}

static void unmap(struct uring* u) {
  if (u->sqes) munmap(u->sqes, u->sqes_len);
  if (u->cq_ring && u->cq_ring != u->sq_ring) munmap(u->cq_ring, u->cq_ring_len);
  if (u->sq_ring) munmap(u->sq_ring, u->sq_ring_len);
  if (u->br) munmap(u->br, u->br_len);
  if (u->fd >= 0) close(u->fd);
  free(u->rx);
  free(u->batch_bid);
  free(u);
}

/** map one region of the ring; NULL (errno set) on failure */
static void* map_ring(int fd, size_t len, off_t off) {
  void* m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off);
  return m == MAP_FAILED ? NULL : m;
}

/** 1 if the kernel knows opcode `op` (IORING_REGISTER_PROBE) */
static int has_op(int fd, int op) {
  size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
  struct io_uring_probe* pr = calloc(1, len);
  if (!pr) return 0;
  int ok = sys_register(fd, IORING_REGISTER_PROBE, pr, 256) >= 0 && op <= pr->last_op &&
           (pr->ops[op].flags & IO_URING_OP_SUPPORTED);
  free(pr);
  return ok;
}

int uring_open(port_t* p) {
  struct uring* u = calloc(1, sizeof *u);
  if (!u) return -ENOMEM;
  u->fd = -1;
  unsigned slots = p->slot_count;
  unsigned entries = 1;
  // a write per slot at most, plus a read per device and the waker's poll
  while (entries < slots + WLVS_MAX_DEVICES + 2) entries <<= 1;
  struct io_uring_params prm;
  // fastest first: completions run only when this thread asks for them (DEFER_TASKRUN, 6.1)
  const unsigned tries[] = {
    IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
    IORING_SETUP_CQSIZE,
  };
  for (unsigned t = 0; t < sizeof tries / sizeof tries[0] && u->fd < 0; t++) {
    memset(&prm, 0, sizeof prm);
    prm.flags = tries[t];
    prm.cq_entries = entries * 4;
    u->fd = sys_setup(entries, &prm);
  }
  int err = -errno;
  if (u->fd < 0) {
    unmap(u);
    return err;
  }
  if (!(prm.features & IORING_FEAT_EXT_ARG) || !has_op(u->fd, IORING_OP_READ_MULTISHOT)) {
    unmap(u);
    return -EOPNOTSUPP;
  }
  u->sq_ring_len = prm.sq_off.array + prm.sq_entries * sizeof(unsigned);
  u->cq_ring_len = prm.cq_off.cqes + prm.cq_entries * sizeof(struct io_uring_cqe);
  if (prm.features & IORING_FEAT_SINGLE_MMAP) {
    if (u->cq_ring_len > u->sq_ring_len) u->sq_ring_len = u->cq_ring_len;
    u->cq_ring_len = u->sq_ring_len;
  }
  u->sq_ring = map_ring(u->fd, u->sq_ring_len, IORING_OFF_SQ_RING);
  if (!u->sq_ring) goto fail;
  u->cq_ring = prm.features & IORING_FEAT_SINGLE_MMAP ? u->sq_ring : map_ring(u->fd, u->cq_ring_len, IORING_OFF_CQ_RING);
  if (!u->cq_ring) goto fail;
  u->sqes_len = prm.sq_entries * sizeof(struct io_uring_sqe);
  u->sqes = map_ring(u->fd, u->sqes_len, IORING_OFF_SQES);
  if (!u->sqes) goto fail;
  char* sq = u->sq_ring;
  char* cq = u->cq_ring;
  u->sq_head = (unsigned*)(sq + prm.sq_off.head);
  u->sq_tail = (unsigned*)(sq + prm.sq_off.tail);
  u->sq_mask = *(unsigned*)(sq + prm.sq_off.ring_mask);
  u->sq_entries = prm.sq_entries;
  u->sq_local = *u->sq_tail;
  unsigned* array = (unsigned*)(sq + prm.sq_off.array);
  for (unsigned i = 0; i < prm.sq_entries; i++) array[i] = i;  // SQE i sits at index i, always
  u->cq_head = (unsigned*)(cq + prm.cq_off.head);
  u->cq_tail = (unsigned*)(cq + prm.cq_off.tail);
  u->cq_mask = *(unsigned*)(cq + prm.cq_off.ring_mask);
  u->cqes = (struct io_uring_cqe*)(cq + prm.cq_off.cqes);

  // the buffer ring: a power of two of entries, at most 32768 (slot_count <= 4096 here)
  unsigned br_entries = 1;
  while (br_entries < slots) br_entries <<= 1;
  u->br_len = br_entries * sizeof(struct io_uring_buf);
  u->br = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (u->br == MAP_FAILED) {
    u->br = NULL;
    goto fail;
  }
  u->br_mask = br_entries - 1;
  struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)u->br, .ring_entries = br_entries, .bgid = BGID};
  if (sys_register(u->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) goto fail;
  u->rx = calloc(slots, sizeof *u->rx);
  u->batch_bid = calloc(slots, sizeof *u->batch_bid);
  if (!u->rx || !u->batch_bid) {
    errno = ENOMEM;
    goto fail;
  }
  // every slot goes to the kernel when the first run starts, once the first device has fixed
  // the vnet setting the buffers' addresses depend on (uring_run)
  p->ur = u;
  return 0;
fail:
  err = -errno;
  unmap(u);
  return err;
}

void uring_close(port_t* p) {
  if (!p->ur) return;
  // closing the ring cancels the reads: no completion writes into the memory afterwards
  unmap(p->ur);
  p->ur = NULL;
}

/** queue the reads of devices whose multishot read is not live, and the waker's poll */
static void arm(port_t* p) {
  struct uring* u = p->ur;
  for (int d = 0; d < p->ndev; d++) {
    if (u->armed & (1u << d)) continue;
    struct io_uring_sqe* s = sqe_get(u);
    if (!s) return;
    s->opcode = IORING_OP_READ_MULTISHOT;
    s->fd = p->fds[d];
    s->flags = IOSQE_BUFFER_SELECT;
    s->buf_group = BGID;
    s->user_data = UD(UD_READ, d, 0);
    u->armed |= 1u << d;
  }
  if (p->waker >= 0 && !u->waker_armed) {
    struct io_uring_sqe* s = sqe_get(u);
    if (!s) return;
    s->opcode = IORING_OP_POLL_ADD;
    s->fd = p->waker;
    s->poll32_events = POLLIN;
    s->len = IORING_POLL_ADD_MULTI;
    s->user_data = UD(UD_WAKER, 0, 0);
    u->waker_armed = 1;
  }
}

/**
 * reap takes every completion: frames go to u->rx, finished writes give their slot back.
 * Returns 1 if the waker fired, -1 (errno set) when a device's read keeps failing.
 */
static int reap(port_t* p, int* woken) {
  struct uring* u = p->ur;
  const size_t vlen = port_vlen(p);
  unsigned head = *u->cq_head;
  unsigned tail = atomic_load_explicit((_Atomic unsigned*)u->cq_tail, memory_order_acquire);
  int failed = 0;
  for (; head != tail; head++) {
    struct io_uring_cqe* c = &u->cqes[head & u->cq_mask];
    uint64_t ud = c->user_data;
    int res = c->res;
    unsigned flags = c->flags;
    switch (UD_KIND(ud)) {
      case UD_READ: {
        int d = UD_DEV(ud);
        if (!(flags & IORING_CQE_F_MORE)) u->armed &= ~(1u << d);
        if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
          uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
          u->fails[d] = 0;
          if ((size_t)res <= vlen || bid >= p->slot_count || u->nrx >= p->slot_count) {
            p->stats[PORT_STAT_RX_ERRORS]++;
            if (bid < p->slot_count) br_give(p, bid);
            break;
          }
          u->rx[u->nrx++] = (rx_t){.bid = (uint16_t)bid, .dev = (uint8_t)d, .len = (uint32_t)((size_t)res - vlen)};
        } else if (res < 0 && res != -ENOBUFS && res != -EAGAIN && res != -EINTR && res != -ECANCELED) {
          // ENOBUFS: every slot is in use; the read is armed again once the batch gives some back
          p->stats[PORT_STAT_RX_ERRORS]++;
          if (++u->fails[d] >= MAX_READ_FAILS) {
            errno = -res;
            failed = 1;
          }
        }
        break;
      }
      case UD_WRITE:
        if (res < 0) {
          if (res == -EAGAIN || res == -ENOBUFS) p->stats[PORT_STAT_TX_DROPS]++;
          else p->stats[PORT_STAT_TX_ERRORS]++;
        } else {
          p->stats[PORT_STAT_TX_FRAMES]++;
        }
        br_give(p, UD_BID(ud));
        break;
      case UD_WAKER:
        if (!(flags & IORING_CQE_F_MORE)) u->waker_armed = 0;
        *woken |= port_take_wake(p);
        break;
      default:
        break;
    }
  }
  atomic_store_explicit((_Atomic unsigned*)u->cq_head, head, memory_order_release);
  br_publish(u);
  return failed ? -1 : 0;
}

/**
 * run_batches hands the reaped frames to onBatch, one batch per device (the batch contract),
 * and queues a write for each FORWARD frame; every other slot goes straight back to the ring.
 * Returns the frames handled, or -1 when onBatch threw.
 */
static int64_t run_batches(napi_env env, napi_value cb, port_t* p) {
  struct uring* u = p->ur;
  const size_t vlen = port_vlen(p);
  int64_t total = 0;
  for (int d = 0; d < p->ndev && u->nrx > 0; d++) {
    uint32_t n = 0;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < u->nrx; i++) {
      rx_t r = u->rx[i];
      if (r.dev != d) {
        u->rx[keep++] = r;
        continue;
      }
      port_set_desc(p, n, port_slot_frame(p, r.bid), r.len, d);
      u->batch_bid[n++] = r.bid;
    }
    u->nrx = keep;
    if (n == 0) continue;
    total += n;
    p->stats[PORT_STAT_BATCHES]++;
    p->stats[PORT_STAT_RX_FRAMES] += n;
    if (n > p->stats[PORT_STAT_MAX_BATCH]) p->stats[PORT_STAT_MAX_BATCH] = n;
    if (port_call_js(env, cb, d, n) != 0) {
      for (uint32_t i = 0; i < n; i++) br_give(p, u->batch_bid[i]);
      for (uint32_t i = 0; i < u->nrx; i++) br_give(p, u->rx[i].bid);
      u->nrx = 0;
      br_publish(u);
      return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
      uint32_t off, len;
      uint8_t out;
      struct io_uring_sqe* s;
      if (!port_tx_ok(p, i, &off, &len, &out)) {
        br_give(p, u->batch_bid[i]);
        continue;
      }
      if (!(s = sqe_get(u))) {  // cannot happen at the queue's size (uring_open), but never silently
        p->stats[PORT_STAT_TX_DROPS]++;
        br_give(p, u->batch_bid[i]);
        continue;
      }
      s->opcode = IORING_OP_WRITE;
      s->fd = p->fds[out];
      s->addr = (uint64_t)(uintptr_t)(p->mem + off - vlen);
      s->len = (uint32_t)(len + vlen);
      s->user_data = UD(UD_WRITE, out, u->batch_bid[i]);
    }
  }
  br_publish(u);
  return total;
}

/** submit what is queued and wait for `min` completions or the deadline; -1 (errno) on failure */
static int submit_wait(port_t* p, unsigned min, uint64_t until) {
  struct uring* u = p->ur;
  sq_publish(u);
  unsigned flags = 0;
  struct io_uring_getevents_arg arg;
  struct __kernel_timespec ts;
  if (min > 0) {
    uint64_t t = port_now_us();
    uint64_t left = until > t ? until - t : 0;
    ts.tv_sec = (long long)(left / 1000000u);
    ts.tv_nsec = (long long)(left % 1000000u) * 1000;
    memset(&arg, 0, sizeof arg);
    arg.sigmask_sz = _NSIG / 8;
    arg.ts = (uint64_t)(uintptr_t)&ts;
    flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  }
  // GETEVENTS with min 0 still runs the completions this thread owes (DEFER_TASKRUN)
  else if (u->queued == 0) flags = IORING_ENTER_GETEVENTS;
  int r = sys_enter(p, u->queued, min, flags, min > 0 ? &arg : NULL, min > 0 ? sizeof arg : 0);
  if (r < 0) {
    if (errno == ETIME || errno == EINTR || errno == EBUSY) return 0;
    return -1;
  }
  // SUBMIT_ALL: the kernel took every SQE (a failed one completes with its error)
  u->queued -= (unsigned)r <= u->queued ? (unsigned)r : u->queued;
  return 0;
}

int uring_run(napi_env env, napi_value cb, port_t* p, uint64_t until, const char** what) {
  struct uring* u = p->ur;
  if (!u->primed && p->ndev > 0) {
    for (uint32_t b = 0; b < p->slot_count; b++) br_give(p, b);
    br_publish(u);
    u->primed = 1;
  }
  int woken = 0;
  uint64_t spin_until = 0;
  for (;;) {
    arm(p);
    uint64_t t = port_now_us();
    int spinning = spin_until > t;
    if (!spinning && t >= until) break;
    // the batch's writes go out in a call of their own, which returns to user space before this
    // thread waits: a write that woke a peer on this CPU lets the scheduler preempt us there
    // (runnable), so we are back as soon as the peer sleeps, usually with its answer queued,
    // instead of sleeping in the wait and paying a wake-up for it (submission and wait in one
    // call: 4.8 context switches a pinned round trip against epoll's 3.9, +4.7 us; bench/README.md)
    if (submit_wait(p, spinning || u->queued ? 0 : 1, until) < 0) {
      *what = "io_uring_enter";
      return -2;
    }
    if (reap(p, &woken) < 0) {
      *what = "io_uring read";
      return -2;
    }
    int64_t got = run_batches(env, cb, p);
    if (got < 0) return -1;
    if (got > 0) {
      p->stats[PORT_STAT_WAKEUPS] += spinning ? 0 : 1;
      if (spinning) p->stats[PORT_STAT_BUSY_POLL_BATCHES]++;
      if (p->busy_poll_us) spin_until = port_now_us() + p->busy_poll_us;
    } else if (spinning) {
      sched_yield();  // let a task on this CPU (on a small machine, maybe the peer) run
    }
    if (woken) break;
  }
  // hand the last batch's writes to the kernel before returning: nothing waits in the queue
  if (u->queued && submit_wait(p, 0, until) < 0) {
    *what = "io_uring_enter";
    return -2;
  }
  return woken;
}
