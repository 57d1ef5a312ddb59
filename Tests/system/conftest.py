"""Starts the real executables on free ports for the socket-level tests."""
import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bin_dir() -> Path:
    configured = os.environ.get("BIN_DIR")
    if configured:
        return Path(configured)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    def __init__(self, executable: str, args=(), env=None, port=None, wait=True):
        self.port = port or free_port()
        self.log_path = ROOT / ".build" / f"test-{executable}-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        full_env = {k: v for k, v in os.environ.items() if not k.endswith("_PORT")}
        full_env.update(env or {})
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(bin_dir() / executable), "--port", str(self.port), *args],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start listening")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout=15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def connection(self, timeout=5.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)


FIXTURE_ENV = {
    "HTTP_HEADER_TIMEOUT_SECONDS": "2",
    "HTTP_BODY_TIMEOUT_SECONDS": "3",
    "HTTP_KEEPALIVE_TIMEOUT_SECONDS": "4",
    "HTTP_MAX_BODY_BYTES": str(1 << 20),
    "HTTP_MAX_HEADER_BYTES": "8192",
    "HTTP_MAX_TARGET_BYTES": "1024",
    "HTTP_BLOCKING_THREADS": "4",
    "LOG_LEVEL": "warning",
}


@pytest.fixture(scope="module")
def server():
    running = RunningServer("http-fixture-server", env=FIXTURE_ENV)
    yield running
    code = running.terminate()
    assert code == 0, running.output()


@pytest.fixture
def start_server():
    started = []

    def start(executable="http-fixture-server", args=(), env=None, **kwargs):
        merged = dict(FIXTURE_ENV)
        merged.update(env or {})
        running = RunningServer(executable, args=args, env=merged, **kwargs)
        started.append(running)
        return running

    yield start
    for running in started:
        running.terminate()
