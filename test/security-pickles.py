"""Writes benign and malicious pickle files for test/security-pickle.test.ts into the folder given as argv[1].

Benign pickles come from pickle.dumps of plain containers; malicious ones are hand-written opcodes (GLOBAL or
STACK_GLOBAL of a dangerous function, then REDUCE) and are never loaded. Zips are laid out like torch.save's
(`archive/data.pkl`, `archive/data/0`, `archive/version`); the legacy layout is torch's pre-1.6 one: five pickles
(magic number, protocol version, sys info, the object, storage keys) followed by raw storage bytes.
"""
import collections
import os
import pickle
import struct
import sys
import zipfile

out = sys.argv[1]


def write(name, data):
    path = os.path.join(out, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def short_unicode(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def bin_unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


# Malicious streams, one per protocol and opcode style.
EVIL = {
    # protocol 2: GLOBAL 'os system' + REDUCE
    2: b"\x80\x02cos\nsystem\nq\x00" + bin_unicode("echo pwned") + b"q\x01\x85q\x02Rq\x03.",
    # protocol 3: GLOBAL 'subprocess Popen'
    3: b"\x80\x03csubprocess\nPopen\nq\x00" + bin_unicode("id") + b"\x85R.",
    # protocol 4: STACK_GLOBAL with memoized strings, inside a FRAME
    4: b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00"
    + short_unicode("posix") + b"\x94" + short_unicode("system") + b"\x94\x93\x94"
    + short_unicode("id") + b"\x94\x85\x94R\x94.",
    # protocol 5: the module name memoized once and fetched back with BINGET before STACK_GLOBAL
    5: b"\x80\x05" + short_unicode("builtins") + b"\x94" + short_unicode("len") + b"\x94\x93\x94"
    + b"h\x00" + short_unicode("eval") + b"\x94\x93\x94" + short_unicode("1+1") + b"\x85R.",
}
BENIGN = collections.OrderedDict([("model.embed.weight", [1.0, 2.0]), ("step", 3)])


def torch_zip(name, pkl, compress=zipfile.ZIP_STORED, storage=4096):
    path = os.path.join(out, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/data/0", b"\x00" * storage)
    return path


def to_zip64_end(path):
    """Rewrites the end of a zip the way archives over 4 GB end: a ZIP64 end record and locator, and an end of
    central directory whose fields say "see ZIP64" (APPNOTE 4.3.14-4.3.16)."""
    data = open(path, "rb").read()
    eocd = data.rindex(b"PK\x05\x06")
    _, _, _, _, entries, cd_size, cd_offset, _ = struct.unpack("<IHHHHIIH", data[eocd:eocd + 22])
    rec_at = eocd
    rec = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset)
    loc = struct.pack("<IIQI", 0x07064B50, 0, rec_at, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    open(path, "wb").write(data[:eocd] + rec + loc + end)


def legacy(obj_pickle, storage=8192):
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    head = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"protocol_version": 1001}, protocol=2)
    return head + obj_pickle + pickle.dumps(["0"], protocol=2) + b"\x00" * storage


for p in (2, 3, 4, 5):
    write(f"benign/p{p}.pkl", pickle.dumps(BENIGN, protocol=p))
    write(f"evil/p{p}.pkl", EVIL[p])
    torch_zip(f"benign-zip/p{p}/pytorch_model.bin", pickle.dumps(BENIGN, protocol=p))
    torch_zip(f"evil-zip/p{p}/pytorch_model.bin", EVIL[p])
write("benign/legacy.pt", legacy(pickle.dumps(BENIGN, protocol=2)))
write("evil/legacy.pt", legacy(EVIL[2]))
# protocol 0, INST opcode: builtins getattr
write("evil/p0-inst.pkl", b"(i__builtin__\ngetattr\n(S'x'\nS'y'\ntR.")
torch_zip("evil-zip/deflated/pytorch_model.bin", EVIL[4], compress=zipfile.ZIP_DEFLATED)
to_zip64_end(torch_zip("evil-zip/zip64/pytorch_model.bin", EVIL[2]))
# 8 MiB of tensor storage behind the pickle: the scan must not read it
torch_zip("big/zip/pytorch_model.bin", pickle.dumps(BENIGN, protocol=4), storage=8 << 20)
write("big/legacy/pytorch_model.bin", legacy(pickle.dumps(BENIGN, protocol=2), storage=8 << 20))
write("not-pickle/onnx.bin", b"\x08\x07\x12\x07pytorch" + b"\x00" * 64)
