// wlvs_io.c — device I/O for the wlvs data path: TUN/TAP devices and raw sockets, read in
// batches straight into the frame slots of the WASM memory and written back in batches.
//
// Why native: per-packet fs.read/fs.write through libuv's thread pool measured 74k pps and hung
// at exit (docs/design.md); non-blocking fds drained with read() until EAGAIN cost one JS call
// per batch instead of one per packet.
//
// Why no libuv: the port is driven from a data-path worker thread that blocks in epoll_wait
// inside portRun() and calls the batch handler synchronously. Node and Deno run that the same
// way; Deno's Node-API layer has no real libuv loop (its uv_poll shim reported one readiness and
// never re-armed: measured, issue 15), and a worker thread has no business sharing a loop anyway.
//
// The descriptor layout and verdicts come from abi.h, generated from assembly/abi.ts (the one
// source of the contract). With a virtio header (IFF_VNET_HDR) its WLVS_VNET_HDR_LEN bytes sit right
// before the frame, in and out.
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <stddef.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "port.h"
#include "steering.h"

// UDP segmentation offload on TUN/TAP (Linux 6.2); older headers do not name it
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
#define TUN_F_USO (TUN_F_USO4 | TUN_F_USO6)

// queues a multi-queue TUN/TAP gets at most: one per data-path worker (director.workers <= 16)
#define WLVS_MAX_QUEUES 16

// a readiness drains at most this many batches of one device, then serves the others
#define BATCHES_PER_WAKEUP 8

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok) return throw_last(env, #call);                      \
  } while (0)

static napi_value throw_last(napi_env env, const char* what) {
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    napi_throw_error(env, "WLVS_ERR_NATIVE",
                     info && info->error_message ? info->error_message : what);
  }
  return NULL;
}

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "WLVS_ERR_DEVICE", msg);
  return NULL;
}

static napi_value make_u32(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

static napi_value make_f64(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int get_u32_prop(napi_env env, napi_value obj, const char* key, uint32_t* out) {
  napi_value v;
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

/** the string property `key` into buf (NUL-terminated); 0 when absent or not a string */
static int get_str_prop(napi_env env, napi_value obj, const char* key, char* buf, size_t size) {
  napi_value v;
  bool has = false;
  size_t len;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

static int get_bool_prop(napi_env env, napi_value obj, const char* key) {
  napi_value v;
  bool has = false, b = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return 0;
  return b;
}

// open_queue attaches one fd to the device `name` (creating it on the first queue); -errno on failure.
// Every queue gets its own vnet header size and offloads: the kernel keeps them per queue file.
// A kernel older than 6.2 refuses the UDP segmentation bits (EINVAL): the queue then opens without
// them and *offload says so, so every later queue asks for what the first one got.
static int open_queue(const char* name, size_t len, int tap, int vnet, int mq, uint32_t* offload,
    char* actual, const char** what) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) { *what = "open /dev/net/tun"; return -errno; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
  if (vnet) ifr.ifr_flags |= IFF_VNET_HDR;
  if (mq) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  memcpy(ifr.ifr_name, name, len);  // len < IFNAMSIZ: checked by the caller
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    *what = "TUNSETIFF";
    return -e;
  }
  if (vnet) {
    int sz = WLVS_VNET_HDR_LEN;
    int ok = ioctl(fd, TUNSETVNETHDRSZ, &sz) == 0;
    if (ok && ioctl(fd, TUNSETOFFLOAD, (unsigned long)*offload) < 0) {
      ok = errno == EINVAL && (*offload & TUN_F_USO) && ioctl(fd, TUNSETOFFLOAD, (unsigned long)(*offload & ~TUN_F_USO)) == 0;
      if (ok) *offload &= ~TUN_F_USO;
    }
    if (!ok) {
      int e = errno;
      close(fd);
      *what = "TUNSETVNETHDRSZ/TUNSETOFFLOAD";
      return -e;
    }
  }
  memcpy(actual, ifr.ifr_name, IFNAMSIZ);
  return fd;
}

// ── openTun(name, { tap, vnet, offload, multiQueue, queues, steering }) -> { fd, fds, name, offload, steering } ──
// `offload`: the TUNSETOFFLOAD bits the device took (the asked ones, without TUN_F_USO* on a
// kernel without UDP segmentation offload).
// `queues` fds on one device (default 1; more than one needs multiQueue): queue i is fds[i], and
// fd is fds[0]. With `steering` and more than one queue, the flow-hash steering program
// (steering.c) picks the queue of every frame the kernel sends; the result's `steering` is
// "flow-hash", or why the kernel's own flow table still picks ("kernel: <reason>"); absent
// with one queue. A device that exists already without IFF_MULTI_QUEUE refuses a multi-queue attach
// with EINVAL; that is reported as such, since "Invalid argument" alone says nothing useful.
static napi_value open_tun(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ] = {0};
  size_t len = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  if (len == 0 || len >= IFNAMSIZ - 1) {
    napi_throw_range_error(env, "WLVS_ERR_DEVICE", "device name must have 1 to 14 characters");
    return NULL;
  }
  int tap = 0, vnet = 0, mq = 0, steer = 0;
  uint32_t offload = 0, queues = 1;
  if (argc > 1) {
    tap = get_bool_prop(env, argv[1], "tap");
    steer = get_bool_prop(env, argv[1], "steering");
    vnet = get_bool_prop(env, argv[1], "vnet");
    mq = get_bool_prop(env, argv[1], "multiQueue");
    get_u32_prop(env, argv[1], "offload", &offload);
    get_u32_prop(env, argv[1], "queues", &queues);
  }
  if (queues < 1 || queues > WLVS_MAX_QUEUES || (queues > 1 && !mq)) {
    napi_throw_range_error(env, "WLVS_ERR_DEVICE", "queues must be 1, or 2 to 16 with multiQueue");
    return NULL;
  }
  int fds[WLVS_MAX_QUEUES];
  char actual[IFNAMSIZ] = {0};
  uint32_t n = 0;
  for (; n < queues; n++) {
    const char* what = "";
    int fd = open_queue(n == 0 ? name : actual, n == 0 ? len : strnlen(actual, IFNAMSIZ - 1), tap, vnet, mq,
        &offload, actual, &what);
    if (fd >= 0) { fds[n] = fd; continue; }
    for (uint32_t k = 0; k < n; k++) close(fds[k]);
    if (-fd == EINVAL && mq && if_nametoindex(n == 0 ? name : actual) != 0) {
      char msg[160];
      snprintf(msg, sizeof msg, "%s exists without multi-queue (IFF_MULTI_QUEUE) or as another kind; "
          "%u workers need one queue each", n == 0 ? name : actual, queues);
      napi_throw_error(env, "WLVS_ERR_DEVICE", msg);
      return NULL;
    }
    return throw_errno(env, what, -fd);
  }
  napi_value out, v, arr;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, fds[0], &v));
  CHECK(napi_set_named_property(env, out, "fd", v));
  CHECK(napi_create_array_with_length(env, n, &arr));
  for (uint32_t k = 0; k < n; k++) {
    CHECK(napi_create_int32(env, fds[k], &v));
    CHECK(napi_set_element(env, arr, k, v));
  }
  CHECK(napi_set_named_property(env, out, "fds", arr));
  CHECK(napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "name", v));
  CHECK(napi_create_uint32(env, offload, &v));
  CHECK(napi_set_named_property(env, out, "offload", v));
  if (n > 1 && steer) {
    char log[1024], msg[1200];
    int r = wlvs_attach_steering(fds[0], tap, log, sizeof log);
    if (r == 0) snprintf(msg, sizeof msg, "flow-hash");
    else snprintf(msg, sizeof msg, "kernel: steering program refused (%s)%s%.1000s", strerror(-r), log[0] ? ": " : "", log);
    CHECK(napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "steering", v));
  }
  return out;
}

static napi_value close_fd(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (close(fd) < 0) return throw_errno(env, "close", errno);
  return NULL;
}

// openRawSocket(protocol[, family 4|6]): a raw socket receiving that IP protocol (AF_INET hands
// over the IPv4 header, AF_INET6 only what follows the IPv6 header and its extension headers)
static napi_value open_raw_socket(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t proto, family = 4;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &proto));
  if (argc > 1) CHECK(napi_get_value_int32(env, argv[1], &family));
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return throw_errno(env, family == 6 ? "socket(AF_INET6, SOCK_RAW)" : "socket(AF_INET, SOCK_RAW)", errno);
  // large receive buffer: a burst must not be lost while JS runs
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

// ── Port: batched device I/O into WASM memory, driven by portRun() on one thread ─────────────
//
// createPort(memory: Uint8Array, layout, stats: BigUint64Array) takes a view of the (shared)
// WASM memory: Node-API gives the data pointer of a SharedArrayBuffer through
// napi_get_typedarray_info on a view, where napi_get_arraybuffer_info refuses one. The port's
// counters live in `stats` (PORT_STAT_* order, names from portStatNames()), so another thread
// reads them without asking the port's thread.

static const char* const PORT_STAT_NAMES[PORT_STAT_COUNT] = {
  "wakeups", "batches", "rxFrames", "txFrames", "txDrops", "rxErrors", "txErrors", "badDescriptors", "maxBatch",
  "busyPollBatches", "syscalls",
};

// epoll tags: a device index, or the waker
#define TAG_WAKER 0xffffffffu


uint64_t port_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void port_set_desc(port_t* p, uint32_t i, uint32_t frame, uint32_t len, int dev) {
  uint8_t* desc = p->mem + p->desc_base + (size_t)i * WLVS_DESC_SIZE;
  memcpy(desc + WLVS_DESC_OFF, &frame, 4);
  memcpy(desc + WLVS_DESC_LEN, &len, 4);
  desc[WLVS_DESC_VERDICT] = WLVS_VERDICT_DROP;
  desc[WLVS_DESC_REASON] = WLVS_DROP_NONE;
  desc[WLVS_DESC_IN_DEV] = (uint8_t)dev;
  desc[WLVS_DESC_OUT_DEV] = (uint8_t)dev;
}

int port_tx_ok(port_t* p, uint32_t i, uint32_t* off, uint32_t* len, uint8_t* out) {
  const size_t vlen = port_vlen(p);
  uint8_t* desc = p->mem + p->desc_base + (size_t)i * WLVS_DESC_SIZE;
  if (desc[WLVS_DESC_VERDICT] != WLVS_VERDICT_FORWARD) return 0;
  memcpy(off, desc + WLVS_DESC_OFF, 4);
  memcpy(len, desc + WLVS_DESC_LEN, 4);
  *out = desc[WLVS_DESC_OUT_DEV];
  // the core is trusted code, but a descriptor pointing outside memory must never be written
  if (*out >= p->ndev || *off < vlen || (uint64_t)*off + *len > p->mem_len || *len == 0) {
    p->stats[PORT_STAT_BAD_DESCRIPTORS]++;
    return 0;
  }
  return 1;
}

/** write every FORWARD frame of the batch to its output device */
static void port_flush(port_t* p, uint32_t n) {
  const size_t vlen = port_vlen(p);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t off, len;
    uint8_t out;
    if (!port_tx_ok(p, i, &off, &len, &out)) continue;
    ssize_t w;
    do {
      p->stats[PORT_STAT_SYSCALLS]++;
      w = write(p->fds[out], p->mem + off - vlen, len + vlen);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) p->stats[PORT_STAT_TX_DROPS]++;
      else p->stats[PORT_STAT_TX_ERRORS]++;
    } else {
      p->stats[PORT_STAT_TX_FRAMES]++;
    }
  }
}

int port_call_js(napi_env env, napi_value cb, int dev, uint32_t n) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return -1;
  napi_value recv, argv[2], result;
  napi_get_undefined(env, &recv);
  argv[0] = make_u32(env, (uint32_t)dev);
  argv[1] = make_u32(env, n);
  napi_status st = napi_call_function(env, recv, cb, 2, argv, &result);
  napi_close_handle_scope(env, scope);
  return st == napi_ok ? 0 : -1;
}

/**
 * drain_dev reads batches from device `dev` until it is empty (or BATCHES_PER_WAKEUP batches, so
 * one busy device cannot starve the others), runs onBatch for each and writes the results.
 * Returns the frames read, or -1 when onBatch threw.
 */
static int64_t drain_dev(napi_env env, napi_value cb, port_t* p, int dev) {
  const size_t vlen = port_vlen(p);
  const int fd = p->fds[dev];
  int64_t total = 0;
  for (int b = 0; b < BATCHES_PER_WAKEUP; b++) {
    uint32_t n = 0;
    while (n < p->slot_count) {
      uint32_t frame = port_slot_frame(p, n);
      uint8_t* buf = p->mem + frame - vlen;
      size_t max = p->slot_size - p->headroom + vlen;
      p->stats[PORT_STAT_SYSCALLS]++;
      ssize_t r = read(fd, buf, max);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) p->stats[PORT_STAT_RX_ERRORS]++;
        break;
      }
      if ((size_t)r <= vlen) {
        p->stats[PORT_STAT_RX_ERRORS]++;
        continue;
      }
      port_set_desc(p, n, frame, (uint32_t)((size_t)r - vlen), dev);
      n++;
    }
    if (n == 0) break;
    total += n;
    p->stats[PORT_STAT_BATCHES]++;
    p->stats[PORT_STAT_RX_FRAMES] += n;
    if (n > p->stats[PORT_STAT_MAX_BATCH]) p->stats[PORT_STAT_MAX_BATCH] = n;
    if (port_call_js(env, cb, dev, n) != 0) return -1;
    port_flush(p, n);
    if (n < p->slot_count) break;  // the device is drained
  }
  return total;
}

int port_take_wake(port_t* p) {
  uint64_t v;
  return p->waker >= 0 && read(p->waker, &v, sizeof v) == (ssize_t)sizeof v;
}

static void port_finalize(napi_env env, void* data, void* hint) {
  port_t* p = (port_t*)data;
  (void)hint;
  if (p->memory_ref) napi_delete_reference(env, p->memory_ref);
  if (p->stats_ref) napi_delete_reference(env, p->stats_ref);
  uring_close(p);
  if (p->epfd >= 0) close(p->epfd);
  free(p);
}

static port_t* get_port(napi_env env, napi_value v) {
  void* data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (port_t*)data;
}

static int get_view(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* bytes) {
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok || type != want) return 0;
  *bytes = want == napi_biguint64_array ? length * 8 : length;
  return 1;
}

// createPort(memory: Uint8Array, { descBase, slotBase, slotSize, headroom, slotCount, busyPollUs?, wakerFd?,
//            engine?: 'auto' | 'io_uring' | 'epoll' }, stats: BigUint64Array) -> port
// io_uring (uring.c) fails here, with the reason, on a kernel that lacks what it needs; auto then
// takes epoll, and portEngine says why. Absent: epoll.
static napi_value create_port(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  void* data = NULL;
  void* stats = NULL;
  size_t len = 0, stats_len = 0;
  if (argc < 3 || !get_view(env, argv[0], napi_uint8_array, &data, &len) ||
      !get_view(env, argv[2], napi_biguint64_array, &stats, &stats_len) || stats_len < PORT_STAT_COUNT * 8) {
    napi_throw_type_error(env, "WLVS_ERR_NATIVE", "createPort takes a Uint8Array over the memory, a layout and a BigUint64Array for the counters");
    return NULL;
  }
  port_t* p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "calloc", ENOMEM);
  p->mem = data;
  p->mem_len = len;
  p->stats = stats;
  p->vnet = -1;
  p->epfd = -1;
  p->waker = -1;
  if (!get_u32_prop(env, argv[1], "descBase", &p->desc_base) || !get_u32_prop(env, argv[1], "slotBase", &p->slot_base) ||
      !get_u32_prop(env, argv[1], "slotSize", &p->slot_size) || !get_u32_prop(env, argv[1], "headroom", &p->headroom) ||
      !get_u32_prop(env, argv[1], "slotCount", &p->slot_count)) {
    free(p);
    napi_throw_type_error(env, "WLVS_ERR_NATIVE", "layout needs descBase, slotBase, slotSize, headroom, slotCount");
    return NULL;
  }
  // optional: 0 when absent; capped so a quiet spin never outlives its purpose
  if (!get_u32_prop(env, argv[1], "busyPollUs", &p->busy_poll_us)) p->busy_poll_us = 0;
  if (p->busy_poll_us > 1000) p->busy_poll_us = 1000;
  uint32_t waker;
  if (get_u32_prop(env, argv[1], "wakerFd", &waker)) p->waker = (int)waker;
  uint64_t slots_end = (uint64_t)p->slot_base + (uint64_t)p->slot_count * p->slot_size;
  uint64_t desc_end = (uint64_t)p->desc_base + (uint64_t)p->slot_count * WLVS_DESC_SIZE;
  if (p->slot_count == 0 || p->headroom < WLVS_VNET_HDR_LEN || p->headroom >= p->slot_size || slots_end > len || desc_end > len) {
    free(p);
    napi_throw_range_error(env, "WLVS_ERR_NATIVE", "layout does not fit the memory");
    return NULL;
  }
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0) {
    int e = errno;
    free(p);
    return throw_errno(env, "epoll_create1", e);
  }
  if (p->waker >= 0) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_WAKER};
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->waker, &ev) < 0) {
      int e = errno;
      close(p->epfd);
      free(p);
      return throw_errno(env, "epoll_ctl(waker)", e);
    }
  }
  char engine[16] = "epoll";
  get_str_prop(env, argv[1], "engine", engine, sizeof engine);
  int want_uring = strcmp(engine, "io_uring") == 0;
  if (!want_uring && strcmp(engine, "auto") != 0 && strcmp(engine, "epoll") != 0) {
    close(p->epfd);
    free(p);
    napi_throw_type_error(env, "WLVS_ERR_NATIVE", "engine is auto, io_uring or epoll");
    return NULL;
  }
  if (strcmp(engine, "epoll") != 0) {
    int r = uring_open(p);
    if (r < 0 && want_uring) {
      close(p->epfd);
      free(p);
      return throw_errno(env, r == -EOPNOTSUPP ? "io_uring engine: this kernel has no multishot read (Linux 6.7)"
                              : r == -EPERM ? "io_uring engine: not permitted (sysctl kernel.io_uring_disabled, or a "
                                              "seccomp profile that leaves io_uring out, as containers' default ones do)"
                                            : "io_uring engine", -r);
    }
    p->uring_err = r < 0 ? -r : 0;
  }
  for (int i = 0; i < PORT_STAT_COUNT; i++) p->stats[i] = 0;
  napi_value ext;
  CHECK(napi_create_external(env, p, port_finalize, NULL, &ext));
  // the views keep the memory and the counters alive as long as the port
  CHECK(napi_create_reference(env, argv[0], 1, &p->memory_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &p->stats_ref));
  return ext;
}

// portAddDevice(port, fd, vnet) -> index
static napi_value port_add_device(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  port_t* p = get_port(env, argv[0]);
  int32_t fd;
  bool vnet;
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_value_bool(env, argv[2], &vnet));
  if (!p) return throw_errno(env, "portAddDevice", EINVAL);
  if ((uint32_t)p->ndev >= WLVS_MAX_DEVICES) return throw_errno(env, "portAddDevice", ENOSPC);
  if (p->vnet != -1 && p->vnet != (int)vnet) {
    napi_throw_error(env, "WLVS_ERR_DEVICE", "all devices of a port must share the virtio-header setting");
    return NULL;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)p->ndev};
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return throw_errno(env, "epoll_ctl(device)", errno);
  p->vnet = vnet;
  p->fds[p->ndev] = fd;
  return make_u32(env, (uint32_t)p->ndev++);
}

/**
 * busy_poll keeps reading every device without sleeping until `busy_poll_us` have passed since
 * the last batch found (as the kernel's SO_BUSY_POLL: a sleeping thread pays a wake-up per
 * packet, tens of microseconds in a VM), or a wake-up comes, or `until` passes. Returns 1 on a
 * wake-up, 0 otherwise, -1 when onBatch threw.
 */
static int busy_poll(napi_env env, napi_value cb, port_t* p, uint64_t until) {
  uint64_t t = port_now_us();
  uint64_t deadline = t + p->busy_poll_us;
  while (t < deadline && t < until) {
    for (int i = 0; i < p->ndev; i++) {
      int64_t got = drain_dev(env, cb, p, i);
      if (got < 0) return -1;
      if (got > 0) {
        p->stats[PORT_STAT_BUSY_POLL_BATCHES]++;
        deadline = port_now_us() + p->busy_poll_us;
      }
    }
    if (port_take_wake(p)) return 1;
    sched_yield();  // let a task on this CPU (on a small machine, maybe the peer) run
    t = port_now_us();
  }
  return 0;
}

// portRun(port, timeoutMs, onBatch) -> 1 when woken (wake(wakerFd)), 0 on timeout. Blocks in
// epoll_wait on the devices and the waker; every batch read goes to onBatch(device, count)
// synchronously (the batch contract of src/io/port.ts), then its FORWARD frames are written.
// An exception thrown by onBatch ends the call and propagates.
static napi_value port_run(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  port_t* p = get_port(env, argv[0]);
  uint32_t timeout_ms;
  CHECK(napi_get_value_uint32(env, argv[1], &timeout_ms));
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[2], &t));
  if (!p || t != napi_function) return throw_errno(env, "portRun", EINVAL);
  if (p->running) {
    napi_throw_error(env, "WLVS_ERR_NATIVE", "portRun is not re-entrant (called from inside onBatch)");
    return NULL;
  }
  p->running = 1;
  const napi_value cb = argv[2];
  const uint64_t until = port_now_us() + (uint64_t)timeout_ms * 1000u;
  if (p->ur) {
    const char* what = "io_uring";
    int r = uring_run(env, cb, p, until, &what);
    p->running = 0;
    if (r == -1) return NULL;
    if (r == -2) return throw_errno(env, what, errno);
    return make_u32(env, (uint32_t)r);
  }
  struct epoll_event evs[WLVS_MAX_DEVICES + 1];
  uint32_t woken = 0;
  for (;;) {
    uint64_t t = port_now_us();
    if (t >= until) break;
    p->stats[PORT_STAT_SYSCALLS]++;
    int n = epoll_wait(p->epfd, evs, WLVS_MAX_DEVICES + 1, (int)((until - t + 999) / 1000));
    if (n < 0) {
      if (errno == EINTR) continue;
      p->running = 0;
      return throw_errno(env, "epoll_wait", errno);
    }
    int64_t got = 0;
    for (int i = 0; i < n; i++) {
      uint32_t tag = evs[i].data.u32;
      if (tag == TAG_WAKER) {
        woken |= port_take_wake(p);
        continue;
      }
      int64_t r = drain_dev(env, cb, p, (int)tag);
      if (r < 0) {
        p->running = 0;
        return NULL;
      }
      got += r;
    }
    if (got > 0) p->stats[PORT_STAT_WAKEUPS]++;
    if (got > 0 && p->busy_poll_us && !woken) {
      int r = busy_poll(env, cb, p, until);
      if (r < 0) {
        p->running = 0;
        return NULL;
      }
      woken |= (uint32_t)r;
    }
    if (woken) break;
  }
  p->running = 0;
  return make_u32(env, woken);
}

// portEngine(port) -> { engine: 'io_uring' | 'epoll', reason?: why auto did not take io_uring }
static napi_value port_engine(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  port_t* p = argc < 1 ? NULL : get_port(env, argv[0]);
  if (!p) return throw_errno(env, "portEngine", EINVAL);
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_string_utf8(env, p->ur ? "io_uring" : "epoll", NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "engine", v));
  if (!p->ur && p->uring_err) {
    const char* why = p->uring_err == EOPNOTSUPP ? "the kernel has no multishot read (Linux 6.7)"
                      : p->uring_err == EPERM ? "not permitted: sysctl kernel.io_uring_disabled, or a seccomp profile "
                                                "that leaves io_uring out (containers' default ones do)"
                                              : strerror(p->uring_err);
    CHECK(napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "reason", v));
  }
  return out;
}

static napi_value port_stat_names(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  napi_value out, s;
  CHECK(napi_create_array_with_length(env, PORT_STAT_COUNT, &out));
  for (uint32_t i = 0; i < PORT_STAT_COUNT; i++) {
    CHECK(napi_create_string_utf8(env, PORT_STAT_NAMES[i], NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, out, i, s));
  }
  return out;
}

// ── Wake-ups and host frames from any thread ─────────────────────────────────────────────────
// createWaker() -> fd of an eventfd; wake(fd) makes the portRun() that watches it return.
static napi_value create_waker(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "eventfd", errno);
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

static napi_value wake(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  uint64_t one = 1;
  // EAGAIN: the counter is saturated, a wake-up is pending anyway
  if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN) return throw_errno(env, "wake", errno);
  return NULL;
}

// sendFrame(fd, vnet, frame: Uint8Array) -> bytes written (0 when dropped). One write() is one
// frame for a TUN/TAP fd, so it may run on another thread than the port reading the same fd.
static napi_value send_frame(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  int32_t fd;
  bool vnet;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_bool(env, argv[1], &vnet));
  void* data;
  size_t length;
  if (!get_view(env, argv[2], napi_uint8_array, &data, &length)) return throw_errno(env, "sendFrame", EINVAL);
  uint8_t vnet_hdr[WLVS_VNET_HDR_LEN] = {0};
  struct iovec iov[2];
  int n = 0;
  if (vnet) {
    iov[n].iov_base = vnet_hdr;
    iov[n++].iov_len = WLVS_VNET_HDR_LEN;
  }
  iov[n].iov_base = data;
  iov[n++].iov_len = length;
  ssize_t w;
  do {
    w = writev(fd, iov, n);
  } while (w < 0 && errno == EINTR);
  return make_u32(env, w < 0 ? 0 : (uint32_t)w);
}

// ── Datagram pairs: a device without a kernel device behind it ─────────────────────────────
// socketPair() -> [a, b], a non-blocking AF_UNIX SOCK_DGRAM pair: one read() is one datagram as
// one read() of a TUN/TAP fd is one frame, so the port can run on `a` while a test (no root, no
// namespace) plays the network on `b` with recvFrame/sendFrame.
static napi_value socket_pair(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return throw_errno(env, "socketpair", errno);
  // room for a burst of full-size frames in each direction
  int sz = 4 << 20;
  for (int i = 0; i < 2; i++) {
    setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  }
  napi_value out;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, make_u32(env, (uint32_t)sv[0])));
  CHECK(napi_set_element(env, out, 1, make_u32(env, (uint32_t)sv[1])));
  return out;
}

// recvFrame(fd, buf: Uint8Array) -> bytes read, 0 when nothing is waiting
static napi_value recv_frame(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void* data;
  size_t len;
  if (!get_view(env, argv[1], napi_uint8_array, &data, &len)) return throw_errno(env, "recvFrame", EINVAL);
  ssize_t r;
  do {
    r = read(fd, data, len);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_u32(env, 0);
    return throw_errno(env, "recvFrame", errno);
  }
  return make_u32(env, (uint32_t)r);
}

// ── UDP probe for health checks (UDP_CHECK) ─────────────────────────────────────────────────
// udpProbe(address, port, payload: Uint8Array, timeoutMs) -> Promise<{ outcome, bytes }>, where
// outcome is "reply", "refused" (ICMP port unreachable, ECONNREFUSED on the connected socket)
// or "timeout". Native because Deno's node:dgram never reports ECONNREFUSED on a connected
// socket (measured, issue 15); an async work item runs it off the JS thread in both runtimes.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  struct sockaddr_storage to;
  socklen_t to_len;
  uint8_t payload[1472];
  size_t payload_len;
  uint32_t timeout_ms;
  const char* outcome;
  ssize_t bytes;
  int err;
} udp_probe_t;

static void udp_probe_exec(napi_env env, void* data) {
  udp_probe_t* u = (udp_probe_t*)data;
  (void)env;
  u->outcome = "timeout";
  int fd = socket(u->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    u->err = errno;
    return;
  }
  if (connect(fd, (struct sockaddr*)&u->to, u->to_len) < 0 || send(fd, u->payload, u->payload_len, 0) < 0) {
    u->err = errno;
    if (errno == ECONNREFUSED) u->outcome = "refused", u->err = 0;
    close(fd);
    return;
  }
  uint8_t buf[2048];
  uint64_t deadline = port_now_us() + (uint64_t)u->timeout_ms * 1000u;
  for (;;) {
    uint64_t t = port_now_us();
    if (t >= deadline) break;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, (int)((deadline - t + 999) / 1000));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r >= 0) {
      u->outcome = "reply";
      u->bytes = r;
      break;
    }
    if (errno == ECONNREFUSED) {
      u->outcome = "refused";
      break;
    }
    if (errno != EAGAIN && errno != EINTR) {
      u->err = errno;
      break;
    }
  }
  close(fd);
}

static void udp_probe_done(napi_env env, napi_status status, void* data) {
  udp_probe_t* u = (udp_probe_t*)data;
  napi_value out, v;
  if (status != napi_ok || u->err) {
    char msg[128];
    snprintf(msg, sizeof msg, "udpProbe: %s", strerror(u->err ? u->err : ECANCELED));
    napi_value m, code;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, "WLVS_ERR_NATIVE", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &out);
    napi_reject_deferred(env, u->deferred, out);
  } else {
    napi_create_object(env, &out);
    napi_create_string_utf8(env, u->outcome, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, out, "outcome", v);
    napi_set_named_property(env, out, "bytes", make_u32(env, (uint32_t)(u->bytes > 0 ? u->bytes : 0)));
    napi_resolve_deferred(env, u->deferred, out);
  }
  napi_delete_async_work(env, u->work);
  free(u);
}

static napi_value udp_probe(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  char addr[64] = {0};
  size_t alen = 0;
  uint32_t port, timeout_ms;
  void* data;
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &alen));
  CHECK(napi_get_value_uint32(env, argv[1], &port));
  CHECK(napi_get_value_uint32(env, argv[3], &timeout_ms));
  if (!get_view(env, argv[2], napi_uint8_array, &data, &len)) return throw_errno(env, "udpProbe", EINVAL);
  udp_probe_t* u = calloc(1, sizeof *u);
  if (!u) return throw_errno(env, "calloc", ENOMEM);
  // an IPv4 or an IPv6 address (health checks of IPv6 real servers)
  struct sockaddr_in* to4 = (struct sockaddr_in*)&u->to;
  struct sockaddr_in6* to6 = (struct sockaddr_in6*)&u->to;
  int parsed = 0;
  if (inet_pton(AF_INET, addr, &to4->sin_addr) == 1) {
    to4->sin_family = AF_INET;
    to4->sin_port = htons((uint16_t)port);
    u->to_len = sizeof *to4;
    parsed = 1;
  } else if (inet_pton(AF_INET6, addr, &to6->sin6_addr) == 1) {
    to6->sin6_family = AF_INET6;
    to6->sin6_port = htons((uint16_t)port);
    u->to_len = sizeof *to6;
    parsed = 1;
  }
  if (port == 0 || port > 65535 || !parsed || len > sizeof u->payload) {
    free(u);
    napi_throw_range_error(env, "WLVS_ERR_NATIVE",
                           "udpProbe: an IPv4 or IPv6 address, a port 1-65535 and at most 1472 bytes");
    return NULL;
  }
  memcpy(u->payload, data, len);
  u->payload_len = len;
  u->timeout_ms = timeout_ms;
  napi_value promise, name;
  CHECK(napi_create_promise(env, &u->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "wlvs:udpProbe", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, udp_probe_exec, udp_probe_done, u, &u->work));
  CHECK(napi_queue_async_work(env, u->work));
  return promise;
}

// ── Decapsulator: IP-in-IP or IPv6-in-IPv6 from a raw socket to a TUN device (TUN-mode real
// servers without the kernel's ipip / ip6tnl modules) ───────────────────────────────────────
// A thread of its own that blocks in poll(): it needs nothing from JavaScript but a stop.
typedef struct {
  pthread_t thread;
  int raw_fd, tun_fd, stop_fd, v6;
  int joined;
  _Atomic uint64_t packets, bytes, malformed, write_errors;
  uint8_t buf[65536];
} decap_t;

static void decap_packet(decap_t* d, ssize_t r) {
  const uint8_t* inner;
  size_t inner_tot;
  if (d->v6) {
    // a raw IPv6 socket for next header 41 hands over what follows the outer header and its
    // extension headers (RFC 3542 §3): the inner IPv6 packet itself
    inner = d->buf;
    if (r < 40 || (inner[0] >> 4) != 6) {
      d->malformed++;
      return;
    }
    inner_tot = 40 + (((size_t)inner[4] << 8) | inner[5]);
    if (inner_tot > (size_t)r) {
      d->malformed++;
      return;
    }
  } else {
    // a raw IPv4 socket hands over the outer header: validate it and the inner header's start
    if (r < 40 || (d->buf[0] >> 4) != 4 || d->buf[9] != IPPROTO_IPIP) {
      d->malformed++;
      return;
    }
    size_t ihl = (size_t)(d->buf[0] & 15) * 4;
    size_t tot = ((size_t)d->buf[2] << 8) | d->buf[3];
    if (ihl < 20 || tot > (size_t)r || tot < ihl + 20 || (d->buf[ihl] >> 4) != 4) {
      d->malformed++;
      return;
    }
    inner = d->buf + ihl;
    inner_tot = ((size_t)inner[2] << 8) | inner[3];
    if (inner_tot > tot - ihl || inner_tot < 20) {
      d->malformed++;
      return;
    }
  }
  ssize_t w;
  do {
    w = write(d->tun_fd, inner, inner_tot);
  } while (w < 0 && errno == EINTR);
  if (w < 0) {
    d->write_errors++;
  } else {
    d->packets++;
    d->bytes += inner_tot;
  }
}

static void* decap_main(void* arg) {
  decap_t* d = (decap_t*)arg;
  struct pollfd fds[2] = {{.fd = d->raw_fd, .events = POLLIN}, {.fd = d->stop_fd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    for (int i = 0; i < 256; i++) {
      ssize_t r = recv(d->raw_fd, d->buf, sizeof d->buf, MSG_DONTWAIT);
      if (r < 0) break;
      decap_packet(d, r);
    }
  }
  return NULL;
}

static void decap_join(decap_t* d) {
  if (d->joined) return;
  uint64_t one = 1;
  if (write(d->stop_fd, &one, sizeof one) < 0) { /* the thread then ends at process exit */ }
  pthread_join(d->thread, NULL);
  close(d->stop_fd);
  d->joined = 1;
}

static void decap_finalize(napi_env env, void* data, void* hint) {
  decap_t* d = (decap_t*)data;
  (void)env;
  (void)hint;
  decap_join(d);
  free(d);
}

// startDecap(rawFd, tunFd[, family 4|6])
static napi_value start_decap(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  int32_t raw_fd, tun_fd, family = 4;
  CHECK(napi_get_value_int32(env, argv[0], &raw_fd));
  CHECK(napi_get_value_int32(env, argv[1], &tun_fd));
  if (argc > 2) CHECK(napi_get_value_int32(env, argv[2], &family));
  decap_t* d = calloc(1, sizeof *d);
  if (!d) return throw_errno(env, "calloc", ENOMEM);
  d->raw_fd = raw_fd;
  d->tun_fd = tun_fd;
  d->v6 = family == 6;
  d->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->stop_fd < 0) {
    int e = errno;
    free(d);
    return throw_errno(env, "eventfd", e);
  }
  int e = pthread_create(&d->thread, NULL, decap_main, d);
  if (e != 0) {
    close(d->stop_fd);
    free(d);
    return throw_errno(env, "pthread_create", e);
  }
  napi_value ext;
  CHECK(napi_create_external(env, d, decap_finalize, NULL, &ext));
  return ext;
}

static napi_value decap_stop(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], &data));
  decap_join((decap_t*)data);
  return NULL;
}

static napi_value decap_stats(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], &data));
  decap_t* d = (decap_t*)data;
  napi_value out;
  CHECK(napi_create_object(env, &out));
  napi_set_named_property(env, out, "packets", make_f64(env, (double)d->packets));
  napi_set_named_property(env, out, "bytes", make_f64(env, (double)d->bytes));
  napi_set_named_property(env, out, "malformed", make_f64(env, (double)d->malformed));
  napi_set_named_property(env, out, "writeErrors", make_f64(env, (double)d->write_errors));
  return out;
}

// ── systemd readiness (sd_notify protocol, sd_notify(3)) ─────────────────────────────────────
// Node's dgram speaks UDP only, not AF_UNIX datagrams: one sendto() here instead of libsystemd.
// A path starting with '@' names an abstract socket (the '@' becomes a leading NUL byte).
static napi_value sd_notify_send(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  char path[sizeof(((struct sockaddr_un*)0)->sun_path) + 1];
  char msg[4096];
  size_t plen = 0, mlen = 0;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen));
  CHECK(napi_get_value_string_utf8(env, argv[1], msg, sizeof msg, &mlen));
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (plen == 0 || plen > sizeof sa.sun_path) return throw_errno(env, "sd_notify: socket path", EINVAL);
  memcpy(sa.sun_path, path, plen);
  if (path[0] == '@') sa.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "sd_notify: socket(AF_UNIX)", errno);
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '@' ? 0 : 1));
  ssize_t n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr*)&sa, salen);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sd_notify: sendto", err);
  return make_u32(env, (uint32_t)n);
}

// adviseHugePages(memory: Uint8Array) -> bytes advised. The session table, its index and the
// slots are one memory touched at random: with 4 KiB pages a lookup in a table of a million
// sessions also misses the TLB; madvise(MADV_HUGEPAGE) asks the kernel to back the whole 2 MiB
// pages inside the view with huge pages as they are first touched (transparent huge pages in
// "madvise" or "always" mode; a per-process hint, no sysctl). Best called before the memory is
// written. 0: the kernel has no transparent huge pages (EINVAL) or the view holds no whole page.
#define HUGE_PAGE (2u << 20)
static napi_value advise_huge_pages(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  void* data = NULL;
  size_t len = 0;
  if (argc < 1 || !get_view(env, argv[0], napi_uint8_array, &data, &len)) {
    napi_throw_type_error(env, "WLVS_ERR_NATIVE", "adviseHugePages takes a Uint8Array over the memory");
    return NULL;
  }
  uintptr_t start = ((uintptr_t)data + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
  uintptr_t end = ((uintptr_t)data + len) & ~(uintptr_t)(HUGE_PAGE - 1);
  if (end <= start) return make_u32(env, 0);
  if (madvise((void*)start, end - start, MADV_HUGEPAGE) != 0) {
    if (errno == EINVAL) return make_u32(env, 0);
    return throw_errno(env, "madvise(MADV_HUGEPAGE)", errno);
  }
  napi_value out;
  CHECK(napi_create_double(env, (double)(end - start), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openTun", NULL, open_tun, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"openRawSocket", NULL, open_raw_socket, NULL, NULL, NULL, napi_default, NULL},
      {"createPort", NULL, create_port, NULL, NULL, NULL, napi_default, NULL},
      {"portAddDevice", NULL, port_add_device, NULL, NULL, NULL, napi_default, NULL},
      {"portRun", NULL, port_run, NULL, NULL, NULL, napi_default, NULL},
      {"portEngine", NULL, port_engine, NULL, NULL, NULL, napi_default, NULL},
      {"portStatNames", NULL, port_stat_names, NULL, NULL, NULL, napi_default, NULL},
      {"createWaker", NULL, create_waker, NULL, NULL, NULL, napi_default, NULL},
      {"wake", NULL, wake, NULL, NULL, NULL, napi_default, NULL},
      {"sendFrame", NULL, send_frame, NULL, NULL, NULL, napi_default, NULL},
      {"udpProbe", NULL, udp_probe, NULL, NULL, NULL, napi_default, NULL},
      {"socketPair", NULL, socket_pair, NULL, NULL, NULL, napi_default, NULL},
      {"recvFrame", NULL, recv_frame, NULL, NULL, NULL, napi_default, NULL},
      {"startDecap", NULL, start_decap, NULL, NULL, NULL, napi_default, NULL},
      {"decapStop", NULL, decap_stop, NULL, NULL, NULL, napi_default, NULL},
      {"decapStats", NULL, decap_stats, NULL, NULL, NULL, napi_default, NULL},
      {"sdNotify", NULL, sd_notify_send, NULL, NULL, NULL, napi_default, NULL},
      {"adviseHugePages", NULL, advise_huge_pages, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
