{
  "targets": [
    {
      "target_name": "usdt",
      "sources": ["src/addon.c"],
      "include_dirs": ["<!(sh scripts/libusdt.sh include)"],
      "libraries": ["<!(sh scripts/libusdt.sh lib)", "-ldl", "-lpthread"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
