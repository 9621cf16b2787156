#!/usr/bin/env python3
"""Writes the seed corpora for the fuzz targets into tests/fuzz/corpus/<target>/.

Each file is a realistic client byte stream (handshake) or a run of 28-byte request headers
(request), built from the wire layouts in src/proto/nbd/wire.h. Deterministic: rerunning it
rewrites the same bytes. Export names match the fuzz targets' catalogs ("vm1", "ro").
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

IHAVEOPT = 0x49484156454F5054
REQUEST_MAGIC = 0x25609513

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_PEEK_EXPORT, OPT_STARTTLS = 1, 2, 3, 4, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY = 6, 7, 8
OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT, OPT_EXTENDED_HEADERS = 9, 10, 11
INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 1, 2, 3

CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_CACHE, CMD_WRITE_ZEROES, CMD_BLOCK_STATUS = 5, 6, 7
FLAG_FUA, FLAG_NO_HOLE, FLAG_DF, FLAG_REQ_ONE, FLAG_FAST_ZERO = 1, 2, 4, 8, 16


def client_flags(fixed_newstyle=True, no_zeroes=True):
    return struct.pack(">I", (1 if fixed_newstyle else 0) | (2 if no_zeroes else 0))


def option(opt, data=b""):
    return struct.pack(">QII", IHAVEOPT, opt, len(data)) + data


def info_data(name, infos=()):
    name = name.encode()
    return (struct.pack(">I", len(name)) + name + struct.pack(">H", len(infos)) +
            b"".join(struct.pack(">H", i) for i in infos))


def meta_data(name, queries):
    name = name.encode()
    out = struct.pack(">I", len(name)) + name + struct.pack(">I", len(queries))
    for query in queries:
        out += struct.pack(">I", len(query)) + query.encode()
    return out


def request(cmd, offset=0, length=0, flags=0, cookie=1):
    return struct.pack(">IHHQQI", REQUEST_MAGIC, flags, cmd, cookie, offset, length)


HANDSHAKE = {
    # What qemu-nbd / nbdinfo send: SR, a meta context, then GO asking for everything.
    "go_full": client_flags() + option(OPT_STRUCTURED_REPLY) +
    option(OPT_SET_META_CONTEXT, meta_data("vm1", ["base:allocation"])) +
    option(OPT_GO, info_data("vm1", [INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE])) +
    request(CMD_READ, 0, 4096),
    "list_abort": client_flags() + option(OPT_LIST) + option(OPT_ABORT),
    "set_meta_context": client_flags() + option(OPT_STRUCTURED_REPLY) +
    option(OPT_LIST_META_CONTEXT, meta_data("vm1", [])) +
    option(OPT_LIST_META_CONTEXT, meta_data("ro", ["base:"])) +
    option(OPT_SET_META_CONTEXT, meta_data("", ["base:allocation", "qemu:dirty-bitmap:b"])) +
    option(OPT_GO, info_data("")),
    "info_then_go": client_flags() + option(OPT_INFO, info_data("ro", [INFO_BLOCK_SIZE])) +
    option(OPT_GO, info_data("ro", [INFO_BLOCK_SIZE])),
    # The Linux kernel's nbd-client style: EXPORT_NAME, with the 124 zero bytes.
    "export_name": client_flags(no_zeroes=False) + option(OPT_EXPORT_NAME, b"vm1"),
    "unsupported": client_flags() + option(0x4242, b"\x00" * 12) + option(OPT_STARTTLS) +
    option(OPT_EXTENDED_HEADERS) + option(OPT_PEEK_EXPORT) + option(OPT_LIST, b"x") +
    option(OPT_SET_META_CONTEXT, meta_data("vm1", ["base:allocation"])) +
    option(OPT_GO, info_data("nope")) + option(OPT_EXPORT_NAME, b"ro"),
    "bad_flags": client_flags(fixed_newstyle=False),
}

REQUEST = {
    "read": request(CMD_READ, 0, 4096) + request(CMD_READ, 4096, 65536, FLAG_DF, 2),
    "write": request(CMD_WRITE, 4096, 4096, FLAG_FUA),
    "flush": request(CMD_FLUSH) + request(CMD_FLUSH, flags=FLAG_FUA, cookie=2),
    "block_status": request(CMD_BLOCK_STATUS, 0, 1 << 20) +
    request(CMD_BLOCK_STATUS, 512, 4096, FLAG_REQ_ONE, 2),
    "mixed": request(CMD_TRIM, 8192, 1 << 20) +
    request(CMD_WRITE_ZEROES, 0, 1 << 20, FLAG_NO_HOLE | FLAG_FAST_ZERO, 2) +
    request(CMD_CACHE, 0, 1 << 16, 0, 3) + request(CMD_DISC, cookie=4),
    "edge": request(CMD_WRITE, (1 << 30) - 512, 1024) + request(9, 0, 0xFFFFFFFF, 0, 2) +
    request(CMD_READ, 0xFFFFFFFFFFFFFF00, 512, 0x8000, 3) + b"\x00" * 28,
}

# coord_wire: the first byte picks the frame type (type - 1), the rest is that type's body;
# the target seals it with a valid header and checksum (layouts in src/coord/wire.h).
NO_NODE = 0xFFFFFFFF
HELLO, HEARTBEAT, LEASE_REQUEST, CONFIG_CHANGE = 1, 2, 3, 4
RECORD_REPLY, LEASE_REPLY, STATUS_REQUEST, STATUS_REPLY = 5, 6, 7, 8


def coord(frame_type, body):
    return bytes([frame_type - 1]) + body


def record(volume, epoch=3, primary=1, in_sync=0b11, members=0b111, tenure=2):
    return struct.pack(">QQIIQQQQQ", volume, epoch, primary, 2, in_sync, members, 0b101,
                       tenure, 9)


def node_status(node, seen=True, live=True, age_ms=12):
    if not seen:
        return struct.pack(">IIQQQ", node, 0, 0, 0, 0)
    return struct.pack(">IIQQQ", node, 1 | (2 if live else 0), age_ms, 5, 77)


COORD_WIRE = {
    "hello_node": coord(HELLO, struct.pack(">IIII", 1, 0, 2, 0)),
    "hello_admin": coord(HELLO, struct.pack(">IIII", 1, 1, NO_NODE, 0)),
    "heartbeat": coord(HEARTBEAT, struct.pack(">IIQQQQ", 1, 0, 0xB007, 3, 1, 2)),
    "heartbeat_blank": coord(HEARTBEAT, struct.pack(">IIQQQQ", 63, 1, 1, 1, 2 ** 64 - 1, 0)),
    "lease_request": coord(LEASE_REQUEST, struct.pack(">IIQQQQ", 0, 0, 1, 1, 1, 42)),
    "config_change_grow": coord(CONFIG_CHANGE, struct.pack(">IIQQQQQQ", 0, 2, 1, 1, 5, 0b111,
                                                           0xB007, 43)),
    "config_change_shrink": coord(CONFIG_CHANGE, struct.pack(">IIQQQQQQ", 0, NO_NODE, 1, 1, 5,
                                                             0b001, 0, 44)),
    "record_reply": coord(RECORD_REPLY, record(1) + struct.pack(">QII", 43, 1, 0)),
    "lease_granted": coord(LEASE_REPLY, struct.pack(">QQQQII", 1, 3, 42, 500000000, 1, 0)),
    "lease_refused": coord(LEASE_REPLY, struct.pack(">QQQQII", 1, 3, 42, 0, 0, 0)),
    "status_request": coord(STATUS_REQUEST, struct.pack(">Q", 1)),
    "status_reply": coord(STATUS_REPLY, struct.pack(">QII", 1, 2, 3) + record(1) + record(7) +
                          node_status(0) + node_status(1, live=False, age_ms=90000) +
                          node_status(2, seen=False)),
    "status_empty": coord(STATUS_REPLY, struct.pack(">QII", 1, 0, 0)),
    # Wrong on purpose: primary outside S, and a reply whose lease is granted with length 0.
    "record_bad": coord(RECORD_REPLY, record(1, primary=2) + struct.pack(">QII", 0, 0, 0)),
    "lease_bad": coord(LEASE_REPLY, struct.pack(">QQQQII", 1, 3, 42, 0, 1, 0)),
}


def write(target, files):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(directory, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("handshake", HANDSHAKE)
    write("request", REQUEST)
    write("coord_wire", COORD_WIRE)
