#!/usr/bin/python3
"""Opens COUNT keep-alive HTTP/1.1 connections to 127.0.0.1:PORT, sends one GET on each, reads its
response, then holds every connection open and idle. tests/load/run uses it to measure a proxy's
memory with 10,000 idle clients.

Protocol on stdout/stdin (one line each):
  prints "ready OPEN FAILED" once every connection has answered (or failed, or --timeout passed);
  reads "check" -> prints "open N": how many of the held connections the server has not closed;
  reads "quit" or end of input -> closes everything and exits.
"""

import argparse
import errno
import resource
import selectors
import socket
import sys
import time


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.connected = False
        self.sent = 0
        self.buf = bytearray()


def response_complete(buf):
    """(done, ok) for the bytes read so far: done once a whole response is in, ok if it was a 2xx."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False, False
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = head[0].split(" ")
    ok = len(parts) >= 2 and parts[1].startswith("2")
    length = None
    chunked = False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    body = len(buf) - (end + 4)
    if chunked:
        return buf.endswith(b"0\r\n\r\n"), ok
    return body >= (length or 0), ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--path", default="/small")
    parser.add_argument("--parallel", type=int, default=256,
                        help="connections being opened at once (stays under listen backlogs)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to open them all; unfinished ones count as failed")
    args = parser.parse_args()

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.count + 64 > hard:
        sys.exit(f"idle_clients: {args.count} connections need a descriptor limit above {hard}")

    address = ("127.0.0.1", args.port)
    request = (f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
               "User-Agent: fairway-load-idle\r\n\r\n").encode()
    sel = selectors.DefaultSelector()
    held = []
    failed = 0
    started = 0
    in_flight = 0
    deadline = time.monotonic() + args.timeout

    def fail(conn):
        nonlocal failed, in_flight
        sel.unregister(conn.sock)
        conn.sock.close()
        failed += 1
        in_flight -= 1

    while True:
        while started < args.count and in_flight < args.parallel:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            started += 1
            err = sock.connect_ex(address)
            if err not in (0, errno.EINPROGRESS):
                sock.close()
                failed += 1
                continue
            sel.register(sock, selectors.EVENT_WRITE, Conn(sock))
            in_flight += 1
        if in_flight == 0:
            break
        if time.monotonic() > deadline:
            for key in list(sel.get_map().values()):
                fail(key.data)
            break
        for key, _ in sel.select(timeout=1.0):
            conn = key.data
            if not conn.connected:
                if conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    fail(conn)
                    continue
                conn.connected = True
            if conn.sent < len(request):
                try:
                    conn.sent += conn.sock.send(request[conn.sent:])
                except OSError:
                    fail(conn)
                    continue
                if conn.sent == len(request):
                    sel.modify(conn.sock, selectors.EVENT_READ, conn)
                continue
            try:
                data = conn.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                fail(conn)
                continue
            if not data:
                fail(conn)
                continue
            conn.buf += data
            done, ok = response_complete(conn.buf)
            if done:
                if not ok:
                    fail(conn)
                    continue
                sel.unregister(conn.sock)
                conn.buf = None
                held.append(conn.sock)
                in_flight -= 1

    print(f"ready {len(held)} {failed}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "check":
            still_open = 0
            for sock in held:
                try:
                    if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                        still_open += 1  # unexpected bytes, but the connection is open
                except BlockingIOError:
                    still_open += 1
                except OSError:
                    pass
            print(f"open {still_open}", flush=True)
        elif command == "quit":
            break
    for sock in held:
        sock.close()


if __name__ == "__main__":
    main()
