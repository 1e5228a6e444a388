{
  "targets": [
    {
      "target_name": "usdt",
      "sources": ["src/addon.c"],
      "include_dirs": ["<!(sh scripts/libusdt.sh include)"],
      "libraries": ["<!(sh scripts/libusdt.sh lib)", "-ldl", "-lpthread"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      # Never unmapped: Node unloads an addon when the worker thread that
      # loaded it exits, but libusdt leaves a pthread key destructor (and
      # thread-local reader records) pointing into its code, which the
      # exiting thread would then call.
      "ldflags": ["-Wl,-z,nodelete"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
