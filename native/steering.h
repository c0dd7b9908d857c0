// steering.h — queue steering for multi-queue TUN/TAP devices (steering.c)
#pragma once
#include <stddef.h>

// wlvs_attach_steering loads the flow-hash steering program and attaches it to the device of
// `fd` (any of its queues); 0, or -errno (EPERM without CAP_BPF/CAP_SYS_ADMIN, EINVAL on a kernel
// without TUNSETSTEERINGEBPF). When the verifier refuses the program, `log` gets its reasons.
int wlvs_attach_steering(int fd, int tap, char* log, size_t log_len);
