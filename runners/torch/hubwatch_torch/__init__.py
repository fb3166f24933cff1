"""hubwatch's torch compute backend: a long-lived worker driven over stdin/stdout (see ../PROTOCOL.md)."""

PROTOCOL_VERSION = 1
