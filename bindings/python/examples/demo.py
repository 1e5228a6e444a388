#!/usr/bin/env python3
"""A Python process with two USDT probes; trace it with bpftrace (see README.md)."""
import json
import os
import time

import usdt

prov = usdt.Provider("myapp")
request = prov.add_probe("request", "int", "char *", "uint64_t")
state = prov.add_probe("state", "char *")

with prov:                                   # enables; disables and frees on exit
    print("pid", os.getpid(), flush=True)
    for i in range(600):
        start = time.monotonic_ns()
        time.sleep(0.001 * (i % 5))          # "handle" the request
        request.fire(200 if i % 4 else 404, "/item/%d" % i, (time.monotonic_ns() - start) // 1000)
        if state.enabled:                    # build costly arguments only when traced
            state.fire(json.dumps({"i": i, "queue": [1, 2, 3]}))
        time.sleep(0.05)
