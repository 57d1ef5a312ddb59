"""Every curl in the two seed READMEs, run unchanged except for the port, must get a 200.

The seed files are copied byte for byte into Tests/integration/seeds/ (SEEDS_DIR overrides).
Seed 003 predicts `sensor_1?version=17` on :8000 before it fits sensor_1, so sensor_1 is fitted
17 times first; its own fit then makes v18.
"""
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from api_client import fit, timestamps

# The company's originals (../shared/seeds beside the checkout) when present, else the copies kept here.
_SHARED_SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
SEEDS_DIR = Path(os.environ.get("SEEDS_DIR") or (_SHARED_SEEDS if _SHARED_SEEDS.is_dir() else Path(__file__).parent / "seeds"))
SEED_FILES = ["000_25303631129e6048.txt", "003_672cd5a00302db18.txt"]
EXPECTED_COMMANDS = {SEED_FILES[0]: 5, SEED_FILES[1]: 4}


def curl_commands(text: str):
    """Each curl command inside a ``` block, with its continuation lines (backslashes, open quotes)."""
    commands = []
    in_block = False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            in_block = not in_block
        elif in_block and line.lstrip().startswith("curl "):
            command = line.strip()
            while True:
                try:
                    shlex.split(command)
                    complete = not command.rstrip().endswith("\\")
                except ValueError:  # an open quote: the -d body goes on
                    complete = False
                if complete or i + 1 >= len(lines):
                    break
                i += 1
                command += "\n" + lines[i]
            commands.append(command)
        i += 1
    return commands


def all_commands():
    found = []
    for name in SEED_FILES:
        commands = curl_commands((SEEDS_DIR / name).read_text(encoding="utf-8", errors="replace"))
        found.extend((name, index, command) for index, command in enumerate(commands))
    return found


COMMANDS = all_commands()


def test_every_seed_curl_was_found():
    counts = {name: sum(1 for n, _, _ in COMMANDS if n == name) for name in SEED_FILES}
    assert counts == EXPECTED_COMMANDS, f"curl commands found per seed: {counts}\n" + \
        "\n---\n".join(command for _, _, command in COMMANDS)


@pytest.fixture(scope="module")
def seed_results(make_services, run_dir):
    svc = make_services(monitoring=True)
    ports = {"8000": svc.training.port, "8001": svc.inference.port, "8002": svc.monitoring.port}
    for k in range(1, 18):
        assert fit(svc.training.port, "sensor_1", timestamps(5, start=1690000000),
                   [10.0 + k, 11.0, 9.0, 12.0, 15.0])["version"] == f"v{k}"
    results = {}
    out_dir = run_dir / "seed-curls"
    out_dir.mkdir(exist_ok=True)
    for name, index, command in COMMANDS:  # in document order: the fits come before the predicts
        rewritten = re.sub(r"localhost:(800[012])\b", lambda m: f"localhost:{ports[m.group(1)]}", command)
        body_path = out_dir / f"{name}-{index}.body"
        wrapped = f"{rewritten} -sS --max-time 10 -o {shlex.quote(str(body_path))} -w '%{{http_code}}'"
        done = subprocess.run(["bash", "-c", wrapped], capture_output=True, text=True, timeout=30)
        body = body_path.read_text(errors="replace") if body_path.exists() else ""
        results[(name, index)] = (rewritten, done.returncode, done.stdout.strip(), done.stderr, body)
    return results


@pytest.mark.parametrize("name, index, command", COMMANDS, ids=[f"{n[:3]}-{i}" for n, i, _ in COMMANDS])
def test_seed_curl_gets_200(seed_results, name, index, command):
    rewritten, returncode, status, stderr, body = seed_results[(name, index)]
    context = f"\n$ {rewritten}\nexit {returncode}, status {status!r}, stderr {stderr!r}\nbody: {body[:2000]}"
    assert not re.search(r"localhost:800[012]\b", rewritten), context
    assert returncode == 0 and status == "200", context
    document = json.loads(body)
    if "/fit/temp_sensor" in command:
        assert document["series_id"] == "temp_sensor" and document["version"] == "v1" and document["points_used"] == 3, context
    elif "/fit/sensor_1" in command:
        assert document["version"] == "v18" and document["points_used"] == 5, context
    elif "/predict/temp_sensor" in command:
        # 25.5 is far above 23.8 + 3 * 0.245
        assert document["anomaly"] is True and document["model_version"] == "v1", context
    elif "/predict/sensor_1?version=17" in command:
        assert document["model_version"] == "v17" and isinstance(document["anomaly"], bool), context
    elif "/predict/sensor_1" in command:
        assert document["model_version"] == "v17" and isinstance(document["anomaly"], bool), context
    elif "/healthcheck" in command:
        assert isinstance(document["series_trained"], int) and "inference_latency_ms" in document, context
        assert "avg" in document["inference_latency_ms"] and "p95" in document["training_latency_ms"], context
    else:
        pytest.fail(f"unexpected seed command: {context}")
