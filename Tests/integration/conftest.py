"""Integration tests: the three services against a real PostgreSQL 15 and a real redis-server.

Run from the repository root after a release build:

    BIN_DIR=$PWD/.build/release python3 -m pytest Tests/integration -q -rA

One Postgres and one Redis serve the whole session (on free ports, data and logs under
.build/integration/<run>/: removed after a run without failures, logs kept after a failure, everything
kept with KEEP_INTEGRATION_DIR=1; only the last five runs are kept);
each module starts its own services and uses its own series ids. test_faults.py, which kills
Postgres and Redis, always runs last.
"""
import os
import shutil
import time
import uuid

import pytest

from backing_stores import PostgresServer, RedisServer
from service_processes import ROOT, Services

_stores = {}  # name -> the session's PostgresServer / RedisServer, for failure reports
KEEP_RUNS = 5


@pytest.fixture(scope="session")
def run_dir(request):
    parent = ROOT / ".build" / "integration"
    parent.mkdir(parents=True, exist_ok=True)
    for old in sorted(p for p in parent.iterdir() if p.is_dir())[:-KEEP_RUNS]:
        shutil.rmtree(old, ignore_errors=True)
    path = parent / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    path.mkdir()
    yield path
    if os.environ.get("KEEP_INTEGRATION_DIR"):
        print(f"\nintegration logs and data kept in {path}")
    elif request.session.testsfailed == 0:
        shutil.rmtree(path, ignore_errors=True)
    else:  # keep the logs, not the Postgres data files
        for data in path.glob("**/pg/data"):
            shutil.rmtree(data, ignore_errors=True)
        print(f"\nintegration logs kept in {path}")


@pytest.fixture(scope="session")
def pg(run_dir):
    server = PostgresServer(run_dir)
    _stores["postgres"] = server
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis(run_dir):
    server = RedisServer(run_dir)
    _stores["redis"] = server
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def make_services(pg, redis, run_dir, request):
    """make_services(training=True, inference=True, monitoring=False, env=None, redis_server=None) -> Services.

    Everything started here is SIGTERMed at the end of the module and must exit 0.
    """
    created = []
    module = request.module.__name__

    def make(training=True, inference=True, monitoring=False, env=None, redis_server=None):
        services = Services(pg, redis_server or redis, run_dir / "logs" / module, env=env)
        created.append(services)
        if training:
            services.start("training")
        if inference:
            services.start("inference")
        if monitoring:
            services.start("monitoring")
        return services

    yield make
    problems = []
    for services in created:
        try:
            services.stop_all()
        except AssertionError as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)


def pytest_collection_modifyitems(session, config, items):
    # The fault tests take Postgres and Redis away; nothing else should run after them.
    items.sort(key=lambda item: getattr(getattr(item, "module", None), "__name__", "") == "test_faults")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for services in Services.registry:
        for service in services.all:
            report.sections.append((f"log of {service.name} :{service.port}", service.logs(60)))
    for name, store in _stores.items():
        report.sections.append((f"{name} :{store.port} (running={store.running})", store.log_tail(25)))
