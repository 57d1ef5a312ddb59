"""`make start` / `make status` / `make stop` as a new user meets them (scripts/services.sh, which the
Makefile targets call after building): project-local Postgres and Redis started when no reachable ones
are configured, every service ready, the URLs printed, a second start harmless, a taken port named,
and stop leaving no process behind; with DATABASE_URL/REDIS_URL answering, those are used and left alone.

Everything runs on free ports with its own RUN_DIR, so a developer's own `make start` is not touched.
"""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from api_client import post
from backing_stores import free_port, port_open, wait_port_closed
from service_processes import ROOT, SCRUBBED, bin_dir

SCRIPT = str(ROOT / "scripts" / "services.sh")


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive: its parent (init in this sandbox) has not reaped it yet.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_dead(pid, timeout=20.0):
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still running {timeout}s after make stop"
        time.sleep(0.05)


class Suite:
    def __init__(self, run_dir, extra_env=None):
        run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(run_dir, 0o755)
        self.run_dir = run_dir
        self.ports = {"training": free_port(), "inference": free_port(), "monitoring": free_port()}
        self.pg_port, self.redis_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env.update({
            "RUN_DIR": str(run_dir), "BIN_DIR": str(bin_dir()), "ENV_FILE": "/dev/null",
            "TRAINING_PORT": str(self.ports["training"]), "INFERENCE_PORT": str(self.ports["inference"]),
            "MONITORING_PORT": str(self.ports["monitoring"]),
            "TRAINING_URL": f"http://127.0.0.1:{self.ports['training']}",
            "INFERENCE_URL": f"http://127.0.0.1:{self.ports['inference']}",
            "BACKEND_PG_PORT": str(self.pg_port), "BACKEND_REDIS_PORT": str(self.redis_port),
        })
        env.update(extra_env or {})
        self.env = env

    def run(self, command, check=True, timeout=120):
        result = subprocess.run([SCRIPT, command], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"services.sh {command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result

    def pids(self):
        return {name: int((self.run_dir / f"{name}.pid").read_text()) for name in self.ports if (self.run_dir / f"{name}.pid").exists()}


@pytest.fixture
def suite(run_dir):
    created = Suite(run_dir / f"make-start-{time.monotonic_ns()}")
    yield created
    created.run("stop", check=False)


def test_start_brings_everything_up_status_reports_it_and_stop_leaves_nothing(suite):
    started = suite.run("start")
    out = started.stdout
    assert f"postgresql://postgres@127.0.0.1:{suite.pg_port}/postgres (project-local" in out
    assert f"redis://127.0.0.1:{suite.redis_port} (project-local)" in out
    for name, port in suite.ports.items():
        assert re.search(rf"^{name}\s+http://127\.0\.0\.1:{port}\s+ready", out, re.M), out
    assert f"http://127.0.0.1:{suite.ports['monitoring']}/dashboard" in out
    assert f"http://127.0.0.1:{suite.ports['training']}/docs" in out
    assert port_open(suite.pg_port) and port_open(suite.redis_port)

    # The seed flow works against what it started.
    fit = post(suite.ports["training"], "/fit/make-start", {"timestamps": [1, 2, 3, 4], "values": [10, 11, 12, 13]})
    assert fit.status == 200, fit
    predict = post(suite.ports["inference"], "/predict/make-start", {"timestamp": "5", "value": 99})
    assert predict.status == 200 and predict.json["anomaly"] is True, predict

    # `make perf-light` drives what was started (the same ports) and prints the load-test summary.
    # (-o release: the binaries under test are built already, maybe elsewhere: BIN_DIR)
    light = subprocess.run(["make", "-s", "-o", "release", "perf-light", "PERF_LIGHT_SECONDS=2", f"RELEASE_BIN={bin_dir()}"],
                           cwd=ROOT, env=suite.env, capture_output=True, text=True, timeout=600)
    summary = light.stdout
    assert light.returncode == 0, f"make perf-light exited {light.returncode}:\n{summary}\n{light.stderr}"
    assert f"POST http://127.0.0.1:{suite.ports['inference']}/predict/perf-light" in summary, summary
    served = re.search(r"^\s*requests\s+(\d+) in [\d.]+ s = ([\d.]+) req/s", summary, re.M)
    assert served and int(served[1]) > 100 and float(served[2]) > 50, summary
    assert re.search(r"^\s*latency \(ms\)\s+avg [\d.]+\s+p50 [\d.]+\s+p90 [\d.]+\s+p95 [\d.]+\s+p99 [\d.]+\s+max [\d.]+", summary, re.M), summary
    assert re.search(rf"^\s*statuses\s+200: {served[1]}$", summary, re.M), summary
    assert re.search(r"^\s*errors\s+0 ", summary, re.M), summary
    assert re.search(r"^\s*anomalies\s+\d+ of \d+ predictions = [\d.]+ %", summary, re.M), summary

    status_out = suite.run("status").stdout
    for name in suite.ports:
        assert re.search(rf"^{name}\s+pid \d+\s+:{suite.ports[name]}\s+ok\s+postgres up\s+redis up", status_out, re.M), status_out
    assert re.search(r"^postgres\s+up", status_out, re.M) and re.search(r"^redis\s+up", status_out, re.M), status_out

    # Twice is harmless: the same processes keep running.
    before = suite.pids()
    again = suite.run("start")
    assert suite.pids() == before
    assert again.stdout.count("already running") == 3, again.stdout

    redis_pid = int((suite.run_dir / "redis.pid").read_text())
    stopped = suite.run("stop")
    for name, pid in before.items():
        wait_dead(pid)
        assert f"{name}-service stopped" in stopped.stdout
    wait_dead(redis_pid)
    wait_port_closed(suite.pg_port, timeout=20)
    wait_port_closed(suite.redis_port, timeout=20)
    assert not any(suite.run_dir.glob("*.pid")), list(suite.run_dir.glob("*.pid"))
    assert all(re.search(rf"^{name}\s+stopped", suite.run("status").stdout, re.M) for name in suite.ports)


def test_a_taken_port_is_named(suite):
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", suite.ports["inference"]))
        squatter.listen()
        result = suite.run("start", check=False)
    assert result.returncode != 0
    assert f"port {suite.ports['inference']} is already taken" in result.stderr and "INFERENCE_PORT" in result.stderr, result.stderr


def test_reachable_database_and_redis_are_used_and_left_running(run_dir, pg, redis):
    suite = Suite(run_dir / f"make-start-ext-{time.monotonic_ns()}", {"DATABASE_URL": pg.url, "REDIS_URL": redis.url})
    try:
        out = suite.run("start").stdout
        assert f"{pg.url} (answering; not started by us)" in out, out
        assert "project-local" not in out
        assert not port_open(suite.pg_port) and not port_open(suite.redis_port)
        fit = post(suite.ports["training"], "/fit/make-start-ext", {"timestamps": [1, 2, 3], "values": [1, 2, 3]})
        assert fit.status == 200, fit
    finally:
        suite.run("stop")
    assert port_open(pg.port) and port_open(redis.port), "make stop stopped servers it had not started"


def test_an_unreachable_configured_database_is_an_error_not_a_silent_substitute(run_dir):
    dead = free_port()
    suite = Suite(run_dir / f"make-start-dead-{time.monotonic_ns()}", {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{dead}/postgres"})
    result = suite.run("start", check=False)
    assert result.returncode != 0
    assert f"DATABASE_URL=postgresql://postgres@127.0.0.1:{dead}/postgres does not answer" in result.stderr, result.stderr
    assert not suite.pids()


def test_the_env_file_is_read_literally_and_the_environment_wins(run_dir, tmp_path):
    env_file = tmp_path / "dot.env"
    env_file.write_text(
        "# a comment\n"
        "TRAINING_PORT=1111\n"
        "INFERENCE_PORT=2222             # inline comment\n"
        "DATABASE_URL=\"postgresql://u:pa$HOME;w`x`@db:5432/anomaly\"\n"
        "REDIS_URL=redis://cache:6379\n")
    suite = Suite(run_dir / f"make-start-env-{time.monotonic_ns()}", {"ENV_FILE": str(env_file)})
    for name in ("TRAINING_PORT", "INFERENCE_PORT", "REDIS_URL"):
        suite.env.pop(name, None)
    suite.env["REDIS_URL"] = "redis://from-the-environment:6379"
    suite.env["TRAINING_PORT"] = "3333"
    config = dict(line.split("=", 1) for line in suite.run("config").stdout.splitlines())
    assert config["TRAINING_PORT"] == "3333", "the environment must win over the file"
    assert config["INFERENCE_PORT"] == "2222"
    assert config["DATABASE_URL"] == "postgresql://u:pa$HOME;w`x`@db:5432/anomaly", "no shell expansion"
    assert config["REDIS_URL"] == "redis://from-the-environment:6379"


def test_a_checkout_deeper_than_a_unix_socket_path_still_starts_postgres(run_dir):
    """Postgres refuses to start when its socket path passes sun_path's 107 bytes; CI's clone sat just
    past it. A deep checkout must still get a project-local Postgres, reachable over TCP."""
    deep = run_dir / ("d" * 60) / f"make-start-deep-{time.monotonic_ns()}"
    deep.mkdir(parents=True)
    for part in (deep.parent, deep):
        os.chmod(part, 0o755)
    assert len(str(deep / "postgres" / ".s.PGSQL.5432")) > 107
    suite = Suite(deep)
    backends = str(ROOT / "scripts" / "backends.sh")
    try:
        started = subprocess.run([backends, "start-postgres"], cwd=ROOT, env=suite.env, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        assert port_open(suite.pg_port)
    finally:
        subprocess.run([backends, "stop-postgres"], cwd=ROOT, env=suite.env, capture_output=True, timeout=60)
    wait_port_closed(suite.pg_port, timeout=20)


def test_a_fresh_checkout_without_a_run_directory_stops_the_postgres_it_started(run_dir):
    """In a fresh clone run/ does not exist yet. Postgres's data directory was chosen by whether the postgres
    user could reach run/, which Redis then created: `start` put the data under /var/tmp and `stop` looked
    under run/, found no cluster, and left Postgres running (seen 2026-11-22 on a fresh checkout)."""
    suite = Suite(run_dir / f"make-start-fresh-{time.monotonic_ns()}")
    suite.run_dir.rmdir()
    backends = str(ROOT / "scripts" / "backends.sh")

    def backends_sh(command):
        return subprocess.run([backends, command], cwd=ROOT, env=suite.env, capture_output=True, text=True, timeout=120)

    data_dir = None
    try:
        started = backends_sh("start")
        assert started.returncode == 0, started.stderr
        assert port_open(suite.pg_port) and port_open(suite.redis_port)
        # The running postmaster's data directory, found from the port it listens on.
        data_dir = next((arguments[arguments.index("-D") + 1] for arguments in postmaster_command_lines()
                         if str(suite.pg_port) in arguments), None)
        assert data_dir, "no postmaster for the Postgres that start started"
        assert backends_sh("pg-dir").stdout.strip() + "/data" == data_dir, "stop would look for the cluster elsewhere"
        assert str(postmaster_pid(data_dir)) in backends_sh("pids").stdout.split(), "pids leaves the postmaster out"
    finally:
        stopped = backends_sh("stop")
    assert stopped.returncode == 0, stopped.stderr
    wait_port_closed(suite.pg_port, timeout=20)
    wait_port_closed(suite.redis_port, timeout=20)
    if data_dir and data_dir.startswith("/var/tmp/"):  # outside the run directory: nothing else removes it
        shutil.rmtree(os.path.dirname(os.path.dirname(data_dir)), ignore_errors=True)


def postmaster_command_lines():
    """The argument lists of the running postmasters (processes started with -D)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline") as f:
                    arguments = f.read().split("\0")
            except OSError:
                continue
            if "-D" in arguments and arguments[0].endswith("/postgres"):
                found.append(arguments)
    return found


def postmaster_pid(data_dir):
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        return int(f.readline())


def test_make_start_and_a_direct_backends_start_agree_on_the_data_directory(tmp_path):
    """`make start` passes RUN_DIR (scripts/services.sh); `scripts/backends.sh start` alone does not. With the
    data outside run/ (the postgres user cannot reach the checkout), the two used to key /var/tmp differently,
    so one started a second cluster on the port the other's already held."""
    if os.getuid() != 0:
        pytest.skip("the data goes outside run/ only when root runs Postgres as the postgres user")
    checkout = tmp_path / "checkout"  # pytest's tmp_path is mode 0700: the postgres user cannot enter it
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "backends.sh", checkout / "scripts" / "backends.sh")
    backends = str(checkout / "scripts" / "backends.sh")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and k != "RUN_DIR"}
    direct = subprocess.run([backends, "pg-dir"], cwd=checkout, env=env, capture_output=True, text=True, timeout=30)
    through_make = subprocess.run([backends, "pg-dir"], cwd=checkout, env={**env, "RUN_DIR": str(checkout / "run")},
                                  capture_output=True, text=True, timeout=30)
    assert direct.returncode == 0 and through_make.returncode == 0, direct.stderr + through_make.stderr
    assert direct.stdout.startswith("/var/tmp/"), direct.stdout
    assert direct.stdout == through_make.stdout
