// port.h — the batched port shared by its two engines: epoll + read()/write() (wlvs_io.c) and
// io_uring with a ring of provided buffers over the frame slots (uring.c).
#ifndef WLVS_PORT_H
#define WLVS_PORT_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

enum {
  PORT_STAT_WAKEUPS, PORT_STAT_BATCHES, PORT_STAT_RX_FRAMES, PORT_STAT_TX_FRAMES, PORT_STAT_TX_DROPS,
  PORT_STAT_RX_ERRORS, PORT_STAT_TX_ERRORS, PORT_STAT_BAD_DESCRIPTORS, PORT_STAT_MAX_BATCH,
  PORT_STAT_BUSY_POLL_BATCHES, PORT_STAT_SYSCALLS, PORT_STAT_COUNT
};

struct uring;

typedef struct {
  napi_ref memory_ref, stats_ref;
  uint8_t* mem;
  size_t mem_len;
  volatile uint64_t* stats;  // shared with other threads, which only read it
  uint32_t desc_base, slot_base, slot_size, headroom, slot_count;
  uint32_t busy_poll_us;  // after a batch, keep reading every device this long (0: off)
  int vnet;               // -1 until the first device fixes it
  int ndev;
  int fds[WLVS_MAX_DEVICES];
  int epfd;
  int waker;  // an eventfd another thread writes to make portRun() return (-1: none)
  int running;  // inside portRun(): the port is not re-entrant
  struct uring* ur;  // the io_uring engine, or NULL: epoll
  int uring_err;     // on epoll by auto: why not io_uring (an errno)
} port_t;

/** bytes of virtio header before each frame, in and out */
static inline size_t port_vlen(const port_t* p) {
  return p->vnet == 1 ? WLVS_VNET_HDR_LEN : 0;
}

/** the memory offset of slot `i`'s frame (its virtio header, if any, sits just before) */
static inline uint32_t port_slot_frame(const port_t* p, uint32_t i) {
  return p->slot_base + i * p->slot_size + p->headroom;
}

uint64_t port_now_us(void);
/** call onBatch(device, count) synchronously; -1 when it threw (the exception stays pending) */
int port_call_js(napi_env env, napi_value cb, int dev, uint32_t n);
/** consume a pending wake-up; 1 if there was one */
int port_take_wake(port_t* p);
/** fill descriptor i for a frame of `len` bytes at memory offset `frame` read from `dev` */
void port_set_desc(port_t* p, uint32_t i, uint32_t frame, uint32_t len, int dev);
/** 1 if descriptor i is a FORWARD frame that lies inside the memory (else counted when bad) */
int port_tx_ok(port_t* p, uint32_t i, uint32_t* off, uint32_t* len, uint8_t* out);

/** uring_open sets up the ring and the slots' buffer ring; 0, or -errno (-EOPNOTSUPP: no multishot read) */
int uring_open(port_t* p);
void uring_close(port_t* p);
/**
 * uring_run is portRun's loop on the io_uring engine until `until` (port_now_us) or a wake-up:
 * 1 woken, 0 timed out, -1 onBatch threw, -2 a system call failed (errno set, *what names it).
 */
int uring_run(napi_env env, napi_value cb, port_t* p, uint64_t until, const char** what);

#endif
