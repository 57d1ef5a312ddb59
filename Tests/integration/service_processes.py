"""The three service executables, started against the test Postgres and Redis."""
import os
import signal
import subprocess
import time
from pathlib import Path

from api_client import get
from backing_stores import free_port, tail

ROOT = Path(__file__).resolve().parents[2]

EXECUTABLES = {"training": "training-service", "inference": "inference-service", "monitoring": "monitoring-service"}

# The socket tests' HTTP settings (Tests/system/conftest.py), with more blocking threads for the
# concurrent fits; everything here can be overridden per service.
HTTP_ENV = {
    "HTTP_HEADER_TIMEOUT_SECONDS": "2",
    "HTTP_BODY_TIMEOUT_SECONDS": "3",
    "HTTP_KEEPALIVE_TIMEOUT_SECONDS": "4",
    "HTTP_MAX_BODY_BYTES": str(1 << 20),
    "HTTP_MAX_HEADER_BYTES": "8192",
    "HTTP_MAX_TARGET_BYTES": "1024",
    "HTTP_BLOCKING_THREADS": "8",
}

# Variables the services read that must come from the test, never from the caller's shell.
SCRUBBED = ("DATABASE_URL", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "DB_POOL_SIZE", "MIN_TRAINING_POINTS", "HOST",
            "PREDICTION_LOG", "ENVIRONMENT", "DB_STARTUP_WAIT_SECONDS", "API_DOCS_DIR",
            "API_TOKEN", "TRAINING_API_TOKEN", "INFERENCE_API_TOKEN", "READ_API_TOKEN", "TRAINING_URL", "INFERENCE_URL")


def bin_dir() -> Path:
    return Path(os.environ.get("BIN_DIR") or ROOT / ".build" / "release")


class Service:
    """One service process; start() waits for GET /readyz (or /livez) to answer 200."""

    def __init__(self, kind: str, env: dict, log_dir: Path, name=None, port=None):
        self.kind = kind
        self.name = name or kind
        self.env = env
        self.log_dir = Path(log_dir)
        self.port = port or free_port()
        self.proc = None
        self.log_paths = []
        self.exit_codes = []

    def __repr__(self):
        return f"<{self.name} :{self.port} pid={self.proc.pid if self.proc else None}>"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def log_path(self) -> Path:
        return self.log_paths[-1]

    def start(self, timeout=30.0, wait_for="/readyz"):
        assert not self.running, f"{self} already running"
        executable = bin_dir() / EXECUTABLES[self.kind]
        assert executable.exists(), f"{executable} does not exist (set BIN_DIR)"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{self.name}-{self.port}-{len(self.log_paths) + 1}.log"
        self.log_paths.append(log_path)
        with open(log_path, "wb") as log:
            # run in the log directory: no developer's .env there (the services read ./.env); the
            # services find api_docs/ next to their executable themselves
            self.proc = subprocess.Popen([str(executable), "--port", str(self.port)], env=self.env, cwd=self.log_dir,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started_at = time.monotonic()
        self.wait_ready(timeout, wait_for)
        return self

    def wait_ready(self, timeout=30.0, path="/readyz"):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode} while starting:\n{self.logs()}")
            try:
                resp = get(self.port, path, timeout=2)
                if resp.status == 200:
                    return
                last = repr(resp)
                if resp.status in (404, 405):  # no such route: waiting will not help
                    raise AssertionError(f"{self.name} answers {path} with {resp!r}\n{self.logs()}")
            except OSError as error:
                last = repr(error)
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready ({path}) after {timeout}s; last: {last}\n{self.logs()}")
            time.sleep(0.1)

    def stop(self, timeout=20.0, expect_code=0):
        """SIGTERM, wait, and (by default) assert a clean exit. Returns the exit code."""
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not exit within {timeout}s of SIGTERM:\n{self.logs()}")
        self.exit_codes.append(code)
        if expect_code is not None:
            assert code == expect_code, f"{self.name} exited with {code} after SIGTERM (expected {expect_code}):\n{self.logs()}"
        return code

    def kill(self):
        if self.running:
            self.proc.kill()
            self.proc.wait()

    def restart(self, timeout=30.0, wait_for="/readyz"):
        self.stop()
        return self.start(timeout, wait_for)

    def logs(self, lines=80) -> str:
        if not self.log_paths:
            return f"--- {self.name}: never started"
        parts = []
        for path in self.log_paths[-2:]:
            parts.append(f"--- {path.name} (last {lines} lines)\n{tail(path, lines)}")
        return "\n".join(parts)


class Services:
    """The services of one test module, pointed at one Postgres and one Redis."""

    registry = []  # every Services alive, so a failing test can show their logs

    def __init__(self, pg, redis, log_dir: Path, env=None):
        self.pg = pg
        self.redis = redis
        self.log_dir = Path(log_dir)
        self.extra_env = dict(env or {})
        self.all = []
        self.training = self.inference = self.monitoring = None
        Services.registry.append(self)

    def environment(self, overrides=None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_PORT") and k not in SCRUBBED}
        env.update(HTTP_ENV)
        env.update({
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis.url,
            "DB_POOL_SIZE": "4",
            "MIN_TRAINING_POINTS": "3",
            "LOG_LEVEL": os.environ.get("INTEGRATION_LOG_LEVEL", "info"),
        })
        env.update(self.extra_env)
        env.update(overrides or {})
        return env

    def start(self, kind, name=None, env=None, wait_for="/readyz", timeout=30.0) -> Service:
        if kind == "monitoring":
            # The dashboard's status probe watches this group's own training and inference, if started.
            env = {**{f"{other.upper()}_URL": f"http://127.0.0.1:{getattr(self, other).port}"
                      for other in ("training", "inference") if getattr(self, other) is not None}, **(env or {})}
        service = Service(kind, self.environment(env), self.log_dir, name=name or f"{kind}{len(self.all) + 1}")
        self.all.append(service)
        service.start(timeout, wait_for)
        if getattr(self, kind) is None:
            setattr(self, kind, service)
        return service

    def stop_all(self):
        """SIGTERM every running service; fails listing any that did not exit 0."""
        problems = []
        for service in self.all:
            if service.running:
                code = service.stop(expect_code=None)
                if code != 0:
                    problems.append(f"{service.name} exited with {code}:\n{service.logs()}")
        if self in Services.registry:
            Services.registry.remove(self)
        assert not problems, "\n".join(problems)

    def logs(self, lines=60) -> str:
        return "\n".join(service.logs(lines) for service in self.all)
