{
  "targets": [
    {
      "target_name": "wlvs_io",
      "sources": ["wlvs_io.c", "uring.c", "steering.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
