"""API conformance: schemathesis (PyPI) drives each of the three running services from
api_docs/openapi.yaml, every check on (no 5xx, status codes, content types and bodies as the spec
says, schema-violating requests rejected, schema-valid ones accepted except where a cross-field rule
applies: Tests/integration/schemathesis/schemathesis.toml), within a bounded budget.

The services run on a Postgres and a Redis of their own, since the generated fits write to whatever
series ids schemathesis invents. Budget: SCHEMATHESIS_EXAMPLES cases per operation (default 25) and
a fixed seed, so a run is reproducible; the case counts go to .build/artifacts/schemathesis.txt.
"""
import os
import re
import shutil
import subprocess

import pytest

from api_client import fit, predict, timestamps
from backing_stores import PostgresServer, RedisServer
from service_processes import ROOT, Services

CONFIG = ROOT / "Tests" / "integration" / "schemathesis" / "schemathesis.toml"
SPEC = ROOT / "api_docs" / "openapi.yaml"
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261122")
REPORT = ROOT / ".build" / "artifacts" / "schemathesis.txt"


@pytest.fixture(scope="module")
def services(run_dir):
    base = run_dir / "schemathesis"
    pg, redis = PostgresServer(base), RedisServer(base)
    pg.start()
    redis.start()
    started = Services(pg, redis, base / "logs")
    try:
        started.start("training")
        started.start("inference")
        started.start("monitoring")
        # The spec's examples name temp_sensor (versions up to v3): give them a real model to reach.
        for shift in range(3):
            fit(started.training.port, "temp_sensor", timestamps(6), [23.5 + shift, 24.1, 23.8, 22.9, 24.4, 23.1])
        for value in (23.9, 40.0):
            predict(started.inference.port, "temp_sensor", value)
        yield started
    finally:
        started.stop_all()
        redis.stop()
        pg.stop()


def run_schemathesis(tag, port):
    st = shutil.which("st") or shutil.which("schemathesis")
    assert st, "schemathesis not installed (pip install schemathesis; Tests/system/requirements.txt)"
    command = [st, "--config-file", str(CONFIG), "run", str(SPEC), "--url", f"http://127.0.0.1:{port}",
               "--include-tag", tag, "--max-examples", str(EXAMPLES), "--seed", SEED, "--no-shrink",
               "--request-timeout", "10",
               # One worker: with two, CPython 3.11's ast.parse (hypothesis describing its lambdas) can fail
               # across threads ("AST constructor recursion depth mismatch"), an error of the tool, not the API.
               "--workers", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    output = result.stdout + result.stderr
    cases = re.search(r"(\d+) generated", output)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as report:
        report.write(f"{tag}: {cases.group(0) if cases else 'no count'} (max-examples {EXAMPLES}, seed {SEED}), exit {result.returncode}\n")
    return result.returncode, output, int(cases.group(1)) if cases else 0


@pytest.mark.parametrize("tag", ["training", "inference", "monitoring"])
def test_service_conforms_to_the_spec(services, tag):
    port = getattr(services, tag).port
    code, output, cases = run_schemathesis(tag, port)
    tail = output[-6000:]
    assert code == 0, f"schemathesis found problems on {tag}:\n{tail}"
    assert cases >= 100, f"schemathesis ran only {cases} cases on {tag}:\n{tail}"
    assert getattr(services, tag).running, f"{tag} died under schemathesis"
