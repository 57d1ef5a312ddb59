#!/usr/bin/env python3
"""Holds N idle keep-alive connections to HOST:PORT (each has made one request) until killed.
   scripts/hold-idle.py PORT [N]"""
import resource
import signal
import socket
import sys

port, count = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /livez HTTP/1.1\r\nHost: idle\r\n\r\n")
    held.append(s)
for s in held:
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
print(f"holding {len(held)} idle keep-alive connections", flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
