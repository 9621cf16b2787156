#!/usr/bin/python3
# Helper for test_shutdown.sh: writes each 4 KiB block of [0, BLOCKS*4K) once, in a random
# order, with a per-block pattern, QD16, until the server goes away; appends the index of every
# write the server acknowledged to ACKED_FILE (flushed as it goes). The test later checks that
# every acknowledged block reads back. Usage: acked_writer.py URI BLOCKS ACKED_FILE
import random
import sys

import nbd

uri, blocks, acked_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
order = list(range(blocks))
random.shuffle(order)
h = nbd.NBD()
h.connect_uri(uri)
out = open(acked_path, "w", buffering=1)
inflight = {}
pos = 0
try:
    while pos < len(order) or inflight:
        while pos < len(order) and len(inflight) < 16:
            i = order[pos]
            pos += 1
            ck = h.aio_pwrite(bytes([i % 251 + 1]) * 4096, i * 4096)
            inflight[ck] = i
        h.poll(-1)
        for ck in list(inflight):
            if h.aio_command_completed(ck):
                out.write(f"{inflight.pop(ck)}\n")
except nbd.Error:
    pass  # the server went away: what was acknowledged is in the file
out.close()
