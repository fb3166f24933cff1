"""Framing of the worker protocol (../PROTOCOL.md): a 4-byte little-endian header length, a UTF-8 JSON header,
then `nbytes` raw bytes of payload (arrays back to back, as the header's `arrays` list describes)."""

import json
import struct

_LEN = struct.Struct("<I")


class Closed(Exception):
    """The other side closed the stream."""


def _read_exact(stream, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise Closed()
        got += k
    return buf


def read_message(stream):
    """Reads one request: (header dict, payload bytearray)."""
    (length,) = _LEN.unpack(_read_exact(stream, 4))
    header = json.loads(_read_exact(stream, length).decode("utf-8"))
    nbytes = int(header.get("nbytes", 0))
    payload = _read_exact(stream, nbytes) if nbytes else bytearray()
    return header, payload


def write_message(stream, header, arrays=()):
    """Writes one reply: `arrays` is a list of (name, dtype name, bytes-like) appended as the payload."""
    parts = []
    described = []
    for name, dtype, data in arrays:
        mv = memoryview(data).cast("B")
        described.append({"name": name, "dtype": dtype, "length": mv.nbytes})
        parts.append(mv)
    header = dict(header, arrays=described, nbytes=sum(p.nbytes for p in parts))
    body = json.dumps(header, separators=(",", ":")).encode("utf-8")
    stream.write(_LEN.pack(len(body)))
    stream.write(body)
    for p in parts:
        stream.write(p)
    stream.flush()
