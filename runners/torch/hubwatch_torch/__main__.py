"""The worker process: `python -m hubwatch_torch`. Reads requests from stdin and answers each, in order, on stdout
(../PROTOCOL.md). Logs go to stderr only: stdout carries nothing but frames."""

import sys
import traceback


def main():
    try:
        import numpy  # noqa: F401 - tensors leave the worker through numpy buffers
        import torch
    except ImportError as e:
        # Exit code 3 tells the client to try the next python (lib/compute/torch-backend.ts).
        sys.stderr.write(f"hubwatch-torch: cannot import torch and numpy ({e}); install PyTorch\n")
        return 3
    from . import PROTOCOL_VERSION
    from .ops import DeltaSession, row_stats
    from .protocol import Closed, read_message, write_message

    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    device_name = f"cuda:0 ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else "cpu"
    sessions = {}
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            header, payload = read_message(stdin)
        except Closed:
            return 0
        op, rid = header.get("op"), header.get("id")
        try:
            arrays = []
            reply = {}
            if op == "hello":
                reply = {
                    "protocol": PROTOCOL_VERSION,
                    "torch": torch.__version__,
                    "device": device_name,
                    "cuda": device.type == "cuda",
                }
            elif op == "row_stats":
                arrays = row_stats(payload, header["dtype"], header["rows"], header["cols"], device)
            elif op == "delta_open":
                sessions[header["session"]] = DeltaSession(
                    header["rows"], header["cols"], header["releaseDtype"], header["baseDtype"], device
                )
            elif op == "delta_add":
                sessions[header["session"]].add(header["firstRow"], header["rows"], payload, header["releaseBytes"])
            elif op == "delta_finish":
                reply = sessions.pop(header["session"]).finish(header["q"], header["niter"], header["seed"])
            elif op == "delta_abort":
                sessions.pop(header["session"], None)
            elif op == "shutdown":
                write_message(stdout, {"id": rid, "ok": True})
                return 0
            else:
                raise ValueError(f"unknown op {op!r}")
            write_message(stdout, dict(reply, id=rid, ok=True), arrays)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the client as an error reply
            if op in ("delta_add", "delta_finish"):
                sessions.pop(header.get("session"), None)
            traceback.print_exc(file=sys.stderr)
            write_message(stdout, {"id": rid, "ok": False, "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    sys.exit(main())
