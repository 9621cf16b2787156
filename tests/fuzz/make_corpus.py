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

# client_reply: what a node sends firebreak attach. Byte 0: bit 0 structured replies, bit 1 the
# handshake instead; byte 1: the split size (0 = whole). The fuzz target awaits cookies 1-7:
# READ 0+4096, READ 8192+512, WRITE, FLUSH, BLOCK_STATUS 0+65536, TRIM, READ 1 MiB+70000.
NBDMAGIC = 0x4E42444D41474943
OPTION_REPLY_MAGIC = 0x0003E889045565A9
SIMPLE_MAGIC, CHUNK_MAGIC = 0x67446698, 0x668E33EF
REP_ACK, REP_INFO, REP_META_CONTEXT, REP_ERR_POLICY = 1, 3, 4, 2 ** 31 + 2
DONE = 1
CHUNK_NONE, CHUNK_DATA, CHUNK_HOLE, CHUNK_BLOCK_STATUS = 0, 1, 2, 5
CHUNK_ERROR, CHUNK_ERROR_OFFSET = 2 ** 15 + 1, 2 ** 15 + 2


def option_reply(opt, rtype, data=b""):
    return struct.pack(">QIII", OPTION_REPLY_MAGIC, opt, rtype, len(data)) + data


def chunk(cookie, ctype, payload, flags=DONE):
    return struct.pack(">IHHQI", CHUNK_MAGIC, flags, ctype, cookie, len(payload)) + payload


def simple(cookie, error=0, data=b""):
    return struct.pack(">IIQ", SIMPLE_MAGIC, error, cookie) + data


GREETING = struct.pack(">QQH", NBDMAGIC, IHAVEOPT, 3)
GO_INFO = (option_reply(OPT_GO, REP_INFO, struct.pack(">HQH", 0, 64 << 20, 0xD6D)) +
           option_reply(OPT_GO, REP_INFO, struct.pack(">HIII", 3, 1, 4096, 32 << 20)) +
           option_reply(OPT_GO, REP_INFO, struct.pack(">H", 2) + b"FireBreak volume vm1"))
CLIENT_REPLY = {
    "handshake_go": b"\x03\x00" + GREETING + option_reply(OPT_STRUCTURED_REPLY, REP_ACK) +
    option_reply(OPT_SET_META_CONTEXT, REP_META_CONTEXT, struct.pack(">I", 1) + b"base:allocation") +
    option_reply(OPT_SET_META_CONTEXT, REP_ACK) + GO_INFO + option_reply(OPT_GO, REP_ACK),
    "handshake_refused": b"\x03\x07" + GREETING + option_reply(OPT_STRUCTURED_REPLY, REP_ACK) +
    option_reply(OPT_SET_META_CONTEXT, REP_ACK) +
    option_reply(OPT_GO, REP_ERR_POLICY, b"not primary for vm1; primary is n2 at 127.0.0.1:10810"),
    "structured": b"\x01\x00" + chunk(1, CHUNK_DATA, struct.pack(">Q", 0) + b"\xa5" * 4096) +
    chunk(3, CHUNK_NONE, b"") + chunk(2, CHUNK_DATA, struct.pack(">Q", 8192) + b"\x11" * 200, 0) +
    chunk(2, CHUNK_HOLE, struct.pack(">QI", 8392, 312), 0) + chunk(2, CHUNK_NONE, b"") +
    chunk(5, CHUNK_BLOCK_STATUS, struct.pack(">IIIII", 1, 4096, 3, 61440, 0)) +
    chunk(4, CHUNK_ERROR, struct.pack(">IH", 5, 4) + b"oops") +
    chunk(6, CHUNK_ERROR_OFFSET, struct.pack(">IH", 28, 0) + struct.pack(">Q", 4096)),
    "structured_split": b"\x01\x05" + chunk(7, CHUNK_DATA, struct.pack(">Q", 1 << 20) +
                                             b"\x5a" * 70000) + chunk(4, CHUNK_NONE, b""),
    "simple": b"\x00\x03" + simple(1, 0, b"\x33" * 4096) + simple(3) + simple(4, 5) +
    simple(2, 0, b"\x44" * 512) + simple(6, 28),
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
    write("client_reply", CLIENT_REPLY)
