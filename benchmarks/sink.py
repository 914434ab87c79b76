"""A UDP sink in its own process standing in for the X-Ray daemon: receives and counts."""

from __future__ import annotations

import socket
import sys


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    print(f"127.0.0.1:{sock.getsockname()[1]}", flush=True)
    count = 0
    while True:
        data = sock.recv(65536)
        if data == b"stop":
            break
        count += 1
    print(count, flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
