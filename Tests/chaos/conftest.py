"""The chaos suite (`make test-chaos`): faults injected while the load-test tool drives the services.

Reuses the integration helpers (Tests/integration: real Postgres and Redis on free ports, the service
processes); every test gets its own Postgres and Redis, so killing them disturbs nothing else. Data and
logs go under .build/chaos/<run>/ (kept when a test fails); the per-fault report is appended to
.build/artifacts/chaos.txt and printed.
"""
import shutil
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from backing_stores import PostgresServer, RedisServer  # noqa: E402
from service_processes import ROOT, Services  # noqa: E402


@pytest.fixture(scope="session")
def chaos_dir(request):
    # Short: Postgres's socket path (under the data directory) must stay within 107 bytes.
    path = ROOT / ".build" / "chaos" / uuid.uuid4().hex[:6]
    path.mkdir(parents=True)
    yield path
    if request.session.testsfailed == 0:
        shutil.rmtree(path, ignore_errors=True)
    else:
        for data in path.glob("**/pg/data"):
            shutil.rmtree(data, ignore_errors=True)
        print(f"\nchaos logs kept in {path}")


@pytest.fixture
def stack(chaos_dir, request):
    """A Postgres, a Redis, training and inference of the test's own; everything stopped afterwards."""
    base = chaos_dir / f"t{len(list(chaos_dir.iterdir()))}"
    pg, redis = PostgresServer(base), RedisServer(base)
    pg.start()
    redis.start()
    services = Services(pg, redis, base / "logs", env={"SHUTDOWN_GRACE_SECONDS": "10", "HTTP_BLOCKING_THREADS": "16",
                                                        "HTTP_MAX_BODY_BYTES": str(64 << 20), "HTTP_BODY_TIMEOUT_SECONDS": "30"})
    services.start("training")
    services.start("inference")
    yield services
    for service in services.all:
        if service.running:
            service.stop(expect_code=None)
    redis.stop()
    pg.stop()
