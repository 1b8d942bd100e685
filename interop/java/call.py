#!/usr/bin/env python3
"""Client of a Java peer's long-lived JVM (Driver.serve, see interop/java/README part of
interop/README.md): sends one put/get call over the UNIX socket and exits as the call did.

usage: call.py SOCKET put|get [options]   (the driver's own arguments)
"""
import os
import socket
import sys

PATH_OPTS = {"--in", "--out", "--rsa-private-pem"}


def main() -> int:
    sock_path, args = sys.argv[1], sys.argv[2:]
    # The server has its own working directory: make file arguments absolute.
    fixed = []
    for i, a in enumerate(args):
        if i > 0 and args[i - 1] in PATH_OPTS:
            a = os.path.abspath(a)
        fixed.append(a)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(b"\0".join(a.encode("utf-8") for a in fixed))
    s.shutdown(socket.SHUT_WR)
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            break
        chunks.append(b)
    s.close()
    reply = b"".join(chunks)
    head, _, err = reply.partition(b"\n")
    if not head.strip().lstrip(b"-").isdigit():
        sys.stderr.write("peer-error: the Java peer's server answered nothing (it died?)\n")
        return 1
    sys.stderr.buffer.write(err)
    sys.stderr.flush()
    return int(head)


if __name__ == "__main__":
    sys.exit(main())
