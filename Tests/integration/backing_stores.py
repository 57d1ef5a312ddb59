"""Real PostgreSQL 15 and redis-server processes for the integration tests.

Both run on free ports under a per-run directory in .build/integration and can be stopped,
SIGKILLed and started again on the same port and data, so the fault tests can take them away
from the services and give them back.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "/usr/bin/redis-server")
PSQL = shutil.which("psql") or str(PG_BIN / "psql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, timeout=0.2) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port_closed(port: int, timeout=10.0):
    deadline = time.monotonic() + timeout
    while port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} still accepting connections after {timeout}s")
        time.sleep(0.05)


def tail(path: Path, lines=60) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as error:
        return f"<no log: {error}>"
    return "\n".join(text.splitlines()[-lines:])


def _children(pid: int):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces; the ppid follows it
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


class PostgresServer:
    """One PostgreSQL cluster run as the `postgres` OS user (Postgres refuses root)."""

    def __init__(self, base: Path, port=None):
        self.dir = Path(base) / "pg"
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.port = port or free_port()
        self.proc = None
        self._paused = []
        self.dir.mkdir(parents=True, exist_ok=True)
        # every ancestor must be traversable by the postgres user
        for parent in [self.dir, *self.dir.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres",
                           "-E", "UTF8", "--locale=C", "--no-sync"], check=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, args, check=False, **kwargs):
        out = subprocess.run(args, user="postgres", group="postgres", extra_groups=[], cwd=self.dir,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                             capture_output=True, text=True, **kwargs)
        if check and out.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({out.returncode}): {out.stdout}\n{out.stderr}")
        return out

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=30.0):
        assert not self.running, "postgres already running"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",  # TCP only: a deep checkout would pass sun_path's 107 bytes
             "-c", "fsync=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            user="postgres", group="postgres", extra_groups=[], cwd=self.dir,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{tail(self.log_path)}")
            ready = subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port),
                                    "-U", "postgres", "-d", "postgres"], capture_output=True)
            if ready.returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres not ready after {timeout}s:\n{tail(self.log_path)}")
            time.sleep(0.1)

    def stop(self, timeout=30.0):
        """Fast shutdown (SIGINT): disconnects clients, checkpoints, exits."""
        if not self.running:
            return
        self.resume()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self, hard=False):
        """A crash: no checkpoint, clients cut off, crash recovery at the next start().

        The default is an immediate shutdown (SIGQUIT to the postmaster, what `pg_ctl stop -m
        immediate` sends): backends die at once and the postmaster reaps them. hard=True SIGKILLs
        the postmaster and every backend instead; the orphans then stay as zombies of PID 1 in a
        container whose init does not reap, so it is not the default.
        """
        if not self.running:
            return
        self.resume()
        pid = self.proc.pid
        if hard:
            os.kill(pid, signal.SIGSTOP)  # no new backends while we collect them
            for child in _children(pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.kill(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGQUIT)
        self.proc.wait(10)
        wait_port_closed(self.port)

    def pause(self):
        """A hung server: SIGSTOP the postmaster and every backend. Connections are accepted by the
        kernel but nothing answers, so only client-side timeouts help. resume() undoes it."""
        pid = self.proc.pid
        os.kill(pid, signal.SIGSTOP)
        self._paused = [pid, *_children(pid)]
        for child in self._paused[1:]:
            os.kill(child, signal.SIGSTOP)

    def resume(self):
        for pid in reversed(self._paused):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self._paused = []

    def psql(self, sql: str, check=True, database="postgres") -> str:
        """Runs SQL with psql (unaligned, tuples only); returns stdout without the trailing newline."""
        out = subprocess.run([PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                              "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
                             capture_output=True, text=True, timeout=30)
        if check and out.returncode != 0:
            raise RuntimeError(f"psql failed ({out.returncode}) for {sql!r}: {out.stderr}")
        return out.stdout.rstrip("\n")

    def log_tail(self, lines=40) -> str:
        return tail(self.log_path, lines)


class RedisServer:
    def __init__(self, base: Path, port=None, name="redis"):
        self.dir = Path(base) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "redis.log"
        self.port = port or free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        assert not self.running, "redis already running"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--daemonize", "no", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis exited with {self.proc.returncode}:\n{tail(self.log_path)}")
            try:
                if self.command("PING") == "+PONG":
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis not ready after {timeout}s:\n{tail(self.log_path)}")
            time.sleep(0.05)

    def command(self, *args) -> str:
        """Sends one command; returns the first reply line (enough for PING, DBSIZE, FLUSHALL)."""
        payload = f"*{len(args)}\r\n" + "".join(f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(payload.encode())
            reply = b""
            while b"\r\n" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.split(b"\r\n", 1)[0].decode()

    def get(self, key):
        """GET key: the value as text, or None when Redis has no such key."""
        return self.bulk("GET", key)

    def bulk(self, *args):
        """Sends one command whose reply is a bulk string (GET, CLIENT LIST, ACL WHOAMI): its text, or None for nil."""
        payload = f"*{len(args)}\r\n" + "".join(f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(payload.encode())
            reply = b""
            while True:
                head, _, rest = reply.partition(b"\r\n")
                if _ and head.startswith(b"$"):
                    length = int(head[1:])
                    if length < 0:
                        return None
                    if len(rest) >= length + 2:
                        return rest[:length].decode()
                elif _:
                    raise RuntimeError(f"{args[0]}: {head!r}")
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError(f"{args[0]}: connection closed after {reply!r}")
                reply += chunk

    def pause(self):
        """A hung server (SIGSTOP): connections are accepted by the kernel, nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a no-op once the process has exited

    def kill(self):
        if not self.running:
            return
        self.proc.kill()
        self.proc.wait(10)
        wait_port_closed(self.port)

    def stop(self):
        if not self.running:
            return
        self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines=30) -> str:
        return tail(self.log_path, lines)
