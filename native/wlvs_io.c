// wlvs_io.c — device I/O for the wlvs data path: TUN/TAP devices and raw sockets, read in
// batches straight into the frame slots of the WASM memory and written back in batches.
//
// Why native: per-packet fs.read/fs.write through libuv's thread pool measured 74k pps and hung
// at exit (docs/design.md); a non-blocking fd watched with uv_poll and drained with read() until
// EAGAIN costs one JS call per batch instead of one per packet.
//
// The descriptor layout and verdicts come from abi.h, generated from assembly/abi.ts (the one
// source of the contract). With a virtio header (IFF_VNET_HDR) its WLVS_VNET_HDR_LEN bytes sit right
// before the frame, in and out.
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"

// a wakeup drains at most this many batches, then yields to timers and other devices
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

static int get_bool_prop(napi_env env, napi_value obj, const char* key) {
  napi_value v;
  bool has = false, b = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return 0;
  return b;
}

// ── openTun(name, { tap, vnet, offload, multiQueue }) -> { fd, name } ─────────────────────────
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
  int tap = 0, vnet = 0, mq = 0;
  uint32_t offload = 0;
  if (argc > 1) {
    tap = get_bool_prop(env, argv[1], "tap");
    vnet = get_bool_prop(env, argv[1], "vnet");
    mq = get_bool_prop(env, argv[1], "multiQueue");
    get_u32_prop(env, argv[1], "offload", &offload);
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open /dev/net/tun", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
  if (vnet) ifr.ifr_flags |= IFF_VNET_HDR;
  if (mq) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  memcpy(ifr.ifr_name, name, len);  // len < IFNAMSIZ: checked above
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "TUNSETIFF", e);
  }
  if (vnet) {
    int sz = WLVS_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 || ioctl(fd, TUNSETOFFLOAD, (unsigned long)offload) < 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "TUNSETVNETHDRSZ/TUNSETOFFLOAD", e);
    }
  }
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, fd, &v));
  CHECK(napi_set_named_property(env, out, "fd", v));
  CHECK(napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "name", v));
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

static napi_value open_raw_socket(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t proto;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &proto));
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return throw_errno(env, "socket(AF_INET, SOCK_RAW)", errno);
  // large receive buffer: a burst must not be lost while JS runs
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

// ── Port: batched device I/O into WASM memory ─────────────────────────────────────────────────
typedef struct port port_t;

typedef struct {
  uv_poll_t poll;
  port_t* port;
  int fd;
  int index;
  int polling;
} port_dev_t;

typedef struct {
  uint64_t wakeups, batches, rx_frames, tx_frames, tx_drops, rx_errors, tx_errors, bad_descriptors, max_batch,
      host_sent, busy_poll_batches;
} port_stats_t;

struct port {
  napi_env env;
  napi_ref buffer_ref;
  napi_ref callback_ref;
  napi_async_context async_context;
  uint8_t* mem;
  size_t mem_len;
  uint32_t desc_base, slot_base, slot_size, headroom, slot_count;
  uint32_t busy_poll_us;  // after a wakeup, keep polling every device this long (0: off)
  int vnet;  // -1 until the first device fixes it
  int ndev;
  int open_handles;
  int finalized;
  int failed;  // the JS callback threw: stop calling it
  port_dev_t devs[WLVS_MAX_DEVICES];
  port_stats_t stats;
};

static void port_free_if_done(port_t* p) {
  if (!p->finalized || p->open_handles > 0) return;
  free(p);
}

static void on_dev_closed(uv_handle_t* h) {
  port_dev_t* d = (port_dev_t*)h->data;
  port_t* p = d->port;
  p->open_handles--;
  port_free_if_done(p);
}

static void port_stop_polls(port_t* p) {
  for (int i = 0; i < p->ndev; i++) {
    port_dev_t* d = &p->devs[i];
    if (!d->polling) continue;
    uv_poll_stop(&d->poll);
    uv_close((uv_handle_t*)&d->poll, on_dev_closed);
    d->polling = 0;
  }
}

static void port_release_js(port_t* p, napi_env env) {
  if (p->callback_ref) {
    napi_delete_reference(env, p->callback_ref);
    p->callback_ref = NULL;
  }
  if (p->async_context) {
    napi_async_destroy(env, p->async_context);
    p->async_context = NULL;
  }
}

/** write every FORWARD frame of the batch to its output device */
static void port_flush(port_t* p, uint32_t n) {
  const size_t vlen = p->vnet ? WLVS_VNET_HDR_LEN : 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t* desc = p->mem + p->desc_base + (size_t)i * WLVS_DESC_SIZE;
    if (desc[WLVS_DESC_VERDICT] != WLVS_VERDICT_FORWARD) continue;
    uint32_t off, len;
    memcpy(&off, desc + WLVS_DESC_OFF, 4);
    memcpy(&len, desc + WLVS_DESC_LEN, 4);
    uint8_t out = desc[WLVS_DESC_OUT_DEV];
    // the core is trusted code, but a descriptor pointing outside memory must never be written
    if (out >= p->ndev || off < vlen || (uint64_t)off + len > p->mem_len || len == 0) {
      p->stats.bad_descriptors++;
      continue;
    }
    ssize_t w;
    do {
      w = write(p->devs[out].fd, p->mem + off - vlen, len + vlen);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) p->stats.tx_drops++;
      else p->stats.tx_errors++;
    } else {
      p->stats.tx_frames++;
    }
  }
}

/** call onBatch(device, count) the way Node expects a callback from the event loop */
static int port_call_js(port_t* p, int dev, uint32_t n) {
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return -1;
  int rc = 0;
  napi_value cb, recv, argv[2], result;
  if (napi_get_reference_value(env, p->callback_ref, &cb) != napi_ok || cb == NULL) {
    rc = -1;
  } else {
    // napi_make_callback converts recv to an object: undefined would throw
    napi_get_global(env, &recv);
    argv[0] = make_u32(env, (uint32_t)dev);
    argv[1] = make_u32(env, n);
    napi_status st = napi_make_callback(env, p->async_context, recv, cb, 2, argv, &result);
    if (st != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        // a throwing batch handler is a bug: surface it as an uncaught exception
        napi_fatal_exception(env, err);
      }
      rc = -1;
    }
  }
  napi_close_handle_scope(env, scope);
  return rc;
}

/**
 * drain_dev reads batches from one device until it is empty (or BATCHES_PER_WAKEUP batches, so
 * one busy device cannot starve the others), runs onBatch for each and writes the results.
 * Returns the frames read, or -1 when the port must not be touched again in this callback.
 */
static int64_t drain_dev(port_t* p, port_dev_t* d) {
  const size_t vlen = p->vnet ? WLVS_VNET_HDR_LEN : 0;
  int64_t total = 0;
  for (int b = 0; b < BATCHES_PER_WAKEUP; b++) {
    uint32_t n = 0;
    while (n < p->slot_count) {
      uint32_t frame = p->slot_base + n * p->slot_size + p->headroom;
      uint8_t* buf = p->mem + frame - vlen;
      size_t max = p->slot_size - p->headroom + vlen;
      ssize_t r = read(d->fd, buf, max);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) p->stats.rx_errors++;
        break;
      }
      if ((size_t)r <= vlen) {
        p->stats.rx_errors++;
        continue;
      }
      uint8_t* desc = p->mem + p->desc_base + (size_t)n * WLVS_DESC_SIZE;
      uint32_t len = (uint32_t)((size_t)r - vlen);
      memcpy(desc + WLVS_DESC_OFF, &frame, 4);
      memcpy(desc + WLVS_DESC_LEN, &len, 4);
      desc[WLVS_DESC_VERDICT] = WLVS_VERDICT_DROP;
      desc[WLVS_DESC_REASON] = WLVS_DROP_NONE;
      desc[WLVS_DESC_IN_DEV] = (uint8_t)d->index;
      desc[WLVS_DESC_OUT_DEV] = (uint8_t)d->index;
      n++;
    }
    if (n == 0) break;
    total += n;
    p->stats.batches++;
    p->stats.rx_frames += n;
    if (n > p->stats.max_batch) p->stats.max_batch = n;
    if (port_call_js(p, d->index, n) != 0) {
      p->failed = 1;
      return -1;
    }
    if (!p->callback_ref) return -1;  // stopped from inside the callback
    port_flush(p, n);
    if (n < p->slot_count) break;  // the device is drained
  }
  return total;
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_readable(uv_poll_t* h, int status, int events) {
  port_dev_t* d = (port_dev_t*)h->data;
  port_t* p = d->port;
  (void)events;
  if (status < 0 || p->failed || !p->callback_ref) return;
  p->stats.wakeups++;
  if (drain_dev(p, d) < 0 || p->busy_poll_us == 0) return;
  // Busy polling (as the kernel's SO_BUSY_POLL): a sleeping process pays a wakeup per packet,
  // tens of microseconds in a VM, so a reply that comes soon is picked up without one. The
  // deadline is fixed from this wakeup, which bounds how long the event loop is held.
  const uint64_t deadline = now_us() + p->busy_poll_us;
  while (now_us() < deadline) {
    for (int i = 0; i < p->ndev; i++) {
      if (!p->devs[i].polling) continue;
      int64_t got = drain_dev(p, &p->devs[i]);
      if (got < 0) return;
      if (got > 0) p->stats.busy_poll_batches++;
    }
    sched_yield();  // let a task on this CPU (on a small machine, maybe the peer) run
  }
}

static void port_finalize(napi_env env, void* data, void* hint) {
  port_t* p = (port_t*)data;
  (void)hint;
  port_stop_polls(p);
  port_release_js(p, env);
  if (p->buffer_ref) {
    napi_delete_reference(env, p->buffer_ref);
    p->buffer_ref = NULL;
  }
  p->finalized = 1;
  port_free_if_done(p);
}

static port_t* get_port(napi_env env, napi_value v) {
  void* data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (port_t*)data;
}

// createPort(arrayBuffer, { descBase, slotBase, slotSize, headroom, slotCount, busyPollUs? }) -> port
static napi_value create_port(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  void* data = NULL;
  size_t len = 0;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &len));
  port_t* p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "calloc", ENOMEM);
  p->env = env;
  p->mem = data;
  p->mem_len = len;
  p->vnet = -1;
  if (!get_u32_prop(env, argv[1], "descBase", &p->desc_base) || !get_u32_prop(env, argv[1], "slotBase", &p->slot_base) ||
      !get_u32_prop(env, argv[1], "slotSize", &p->slot_size) || !get_u32_prop(env, argv[1], "headroom", &p->headroom) ||
      !get_u32_prop(env, argv[1], "slotCount", &p->slot_count)) {
    free(p);
    napi_throw_type_error(env, "WLVS_ERR_NATIVE", "layout needs descBase, slotBase, slotSize, headroom, slotCount");
    return NULL;
  }
  // optional: 0 when absent; capped so one wakeup never holds the event loop for long
  if (!get_u32_prop(env, argv[1], "busyPollUs", &p->busy_poll_us)) p->busy_poll_us = 0;
  if (p->busy_poll_us > 1000) p->busy_poll_us = 1000;
  uint64_t slots_end = (uint64_t)p->slot_base + (uint64_t)p->slot_count * p->slot_size;
  uint64_t desc_end = (uint64_t)p->desc_base + (uint64_t)p->slot_count * WLVS_DESC_SIZE;
  if (p->slot_count == 0 || p->headroom < WLVS_VNET_HDR_LEN || p->headroom >= p->slot_size || slots_end > len || desc_end > len) {
    free(p);
    napi_throw_range_error(env, "WLVS_ERR_NATIVE", "layout does not fit the memory");
    return NULL;
  }
  CHECK(napi_create_reference(env, argv[0], 1, &p->buffer_ref));
  napi_value ext;
  CHECK(napi_create_external(env, p, port_finalize, NULL, &ext));
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
  p->vnet = vnet;
  port_dev_t* d = &p->devs[p->ndev];
  memset(d, 0, sizeof *d);
  d->port = p;
  d->fd = fd;
  d->index = p->ndev++;
  return make_u32(env, (uint32_t)d->index);
}

// portStart(port, onBatch)
static napi_value port_start(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  port_t* p = get_port(env, argv[0]);
  if (!p || p->callback_ref) return throw_errno(env, "portStart", EINVAL);
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_reference(env, argv[1], 1, &p->callback_ref));
  napi_value resource, name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_string_utf8(env, "wlvs:port", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &p->async_context));
  for (int i = 0; i < p->ndev; i++) {
    port_dev_t* d = &p->devs[i];
    if (uv_poll_init(loop, &d->poll, d->fd) != 0) return throw_errno(env, "uv_poll_init", EINVAL);
    d->poll.data = d;
    p->open_handles++;
    if (uv_poll_start(&d->poll, UV_READABLE, on_readable) != 0) return throw_errno(env, "uv_poll_start", EINVAL);
    d->polling = 1;
  }
  return NULL;
}

// portStop(port): stops polling; safe to call twice and from inside onBatch
static napi_value port_stop(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  port_t* p = get_port(env, argv[0]);
  if (!p) return NULL;
  port_stop_polls(p);
  port_release_js(p, env);
  return NULL;
}

// portSend(port, device, frame: Uint8Array) -> bytes written (0 when dropped)
static napi_value port_send(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  port_t* p = get_port(env, argv[0]);
  uint32_t dev;
  CHECK(napi_get_value_uint32(env, argv[1], &dev));
  napi_typedarray_type type;
  size_t length, offset;
  void* data;
  napi_value ab;
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &length, &data, &ab, &offset));
  if (!p || dev >= (uint32_t)p->ndev || type != napi_uint8_array) return throw_errno(env, "portSend", EINVAL);
  uint8_t vnet_hdr[WLVS_VNET_HDR_LEN] = {0};
  struct iovec iov[2];
  int n = 0;
  if (p->vnet == 1) {
    iov[n].iov_base = vnet_hdr;
    iov[n++].iov_len = WLVS_VNET_HDR_LEN;
  }
  iov[n].iov_base = data;
  iov[n++].iov_len = length;
  ssize_t w;
  do {
    w = writev(p->devs[dev].fd, iov, n);
  } while (w < 0 && errno == EINTR);
  if (w < 0) {
    p->stats.tx_drops++;
    return make_u32(env, 0);
  }
  p->stats.host_sent++;
  return make_u32(env, (uint32_t)w);
}

static napi_value port_stats(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  port_t* p = get_port(env, argv[0]);
  if (!p) return throw_errno(env, "portStats", EINVAL);
  napi_value out;
  CHECK(napi_create_object(env, &out));
#define SET(key, field) napi_set_named_property(env, out, key, make_f64(env, (double)p->stats.field))
  SET("wakeups", wakeups);
  SET("batches", batches);
  SET("rxFrames", rx_frames);
  SET("txFrames", tx_frames);
  SET("txDrops", tx_drops);
  SET("rxErrors", rx_errors);
  SET("txErrors", tx_errors);
  SET("badDescriptors", bad_descriptors);
  SET("maxBatch", max_batch);
  SET("hostSent", host_sent);
  SET("busyPollBatches", busy_poll_batches);
#undef SET
  return out;
}

// ── Decapsulator: IP-in-IP from a raw socket to a TUN device (TUN-mode real servers) ─────────
typedef struct {
  uv_poll_t poll;
  int raw_fd, tun_fd;
  int polling, closed, finalized;
  uint64_t packets, bytes, malformed, write_errors;
  uint8_t buf[65536];
} decap_t;

static void decap_free_if_done(decap_t* d) {
  if (d->finalized && (d->closed || !d->polling)) free(d);
}

static void on_decap_closed(uv_handle_t* h) {
  decap_t* d = (decap_t*)h->data;
  d->closed = 1;
  d->polling = 0;
  decap_free_if_done(d);
}

static void on_ipip(uv_poll_t* h, int status, int events) {
  decap_t* d = (decap_t*)h->data;
  (void)events;
  if (status < 0) return;
  for (int i = 0; i < 256; i++) {
    ssize_t r = recv(d->raw_fd, d->buf, sizeof d->buf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    // a raw IPv4 socket hands over the outer header: validate it and the inner header's start
    if (r < 40 || (d->buf[0] >> 4) != 4 || d->buf[9] != IPPROTO_IPIP) {
      d->malformed++;
      continue;
    }
    size_t ihl = (size_t)(d->buf[0] & 15) * 4;
    size_t tot = ((size_t)d->buf[2] << 8) | d->buf[3];
    if (ihl < 20 || tot > (size_t)r || tot < ihl + 20 || (d->buf[ihl] >> 4) != 4) {
      d->malformed++;
      continue;
    }
    const uint8_t* inner = d->buf + ihl;
    size_t inner_tot = ((size_t)inner[2] << 8) | inner[3];
    if (inner_tot > tot - ihl || inner_tot < 20) {
      d->malformed++;
      continue;
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
}

static void decap_finalize(napi_env env, void* data, void* hint) {
  decap_t* d = (decap_t*)data;
  (void)env;
  (void)hint;
  d->finalized = 1;
  if (d->polling && !d->closed) {
    uv_poll_stop(&d->poll);
    uv_close((uv_handle_t*)&d->poll, on_decap_closed);
    return;
  }
  decap_free_if_done(d);
}

static napi_value start_decap(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  int32_t raw_fd, tun_fd;
  CHECK(napi_get_value_int32(env, argv[0], &raw_fd));
  CHECK(napi_get_value_int32(env, argv[1], &tun_fd));
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  decap_t* d = calloc(1, sizeof *d);
  if (!d) return throw_errno(env, "calloc", ENOMEM);
  d->raw_fd = raw_fd;
  d->tun_fd = tun_fd;
  if (uv_poll_init(loop, &d->poll, raw_fd) != 0) {
    free(d);
    return throw_errno(env, "uv_poll_init", EINVAL);
  }
  d->poll.data = d;
  uv_poll_start(&d->poll, UV_READABLE, on_ipip);
  d->polling = 1;
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
  decap_t* d = (decap_t*)data;
  if (d->polling && !d->closed) {
    uv_poll_stop(&d->poll);
    uv_close((uv_handle_t*)&d->poll, on_decap_closed);
    d->polling = 0;
  }
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openTun", NULL, open_tun, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"openRawSocket", NULL, open_raw_socket, NULL, NULL, NULL, napi_default, NULL},
      {"createPort", NULL, create_port, NULL, NULL, NULL, napi_default, NULL},
      {"portAddDevice", NULL, port_add_device, NULL, NULL, NULL, napi_default, NULL},
      {"portStart", NULL, port_start, NULL, NULL, NULL, napi_default, NULL},
      {"portStop", NULL, port_stop, NULL, NULL, NULL, napi_default, NULL},
      {"portSend", NULL, port_send, NULL, NULL, NULL, napi_default, NULL},
      {"portStats", NULL, port_stats, NULL, NULL, NULL, napi_default, NULL},
      {"startDecap", NULL, start_decap, NULL, NULL, NULL, napi_default, NULL},
      {"decapStop", NULL, decap_stop, NULL, NULL, NULL, napi_default, NULL},
      {"decapStats", NULL, decap_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
