"""Scale out: two training and three inference instances on one host, behind nginx (Debian's package)
as the load balancer, sharing one Postgres and one Redis. Concurrent fits through the balancer still
get consecutive versions, read-your-writes holds whichever instances the fit and the predict land on,
and predict throughput through the balancer is measured and reported.
"""
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from backing_stores import free_port, port_open
from service_processes import ROOT, bin_dir
from test_chaos import call, fit_body, report

NGINX_CONFIG = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  upstream training {{ {training} keepalive 32; }}
  upstream inference {{ {inference} keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 64m;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location /fit/ {{ proxy_pass http://training; }}
    location /models {{ proxy_pass http://training; }}
    location /predict/ {{ proxy_pass http://inference; }}
    location / {{ proxy_pass http://inference; }}
  }}
}}
"""


@pytest.fixture
def balanced(stack):
    """stack plus a second training and two more inference instances, and nginx in front of them all."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx not installed (apt-get install nginx-light)"
    stack.start("training", name="training2")
    stack.start("inference", name="inference2")
    stack.start("inference", name="inference3")
    trainings = [s for s in stack.all if s.kind == "training"]
    inferences = [s for s in stack.all if s.kind == "inference"]
    directory = Path(tempfile.mkdtemp(prefix="lb-", dir=ROOT / ".build"))
    port = free_port()
    (directory / "nginx.conf").write_text(NGINX_CONFIG.format(
        dir=directory, port=port,
        training=" ".join(f"server 127.0.0.1:{s.port};" for s in trainings),
        inference=" ".join(f"server 127.0.0.1:{s.port};" for s in inferences)))
    subprocess.run([nginx, "-p", str(directory), "-c", str(directory / "nginx.conf")], check=True)
    deadline = time.monotonic() + 10
    while not port_open(port):
        assert time.monotonic() < deadline, (directory / "error.log").read_text()
        time.sleep(0.05)
    yield port, trainings, inferences
    subprocess.run([nginx, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-s", "stop"], check=False)
    shutil.rmtree(directory, ignore_errors=True)


def test_replicas_behind_nginx_keep_versions_and_read_your_writes(balanced, stack):
    port, trainings, inferences = balanced

    # 20 concurrent fits of one series through the balancer: versions 1..20, no error.
    answers = []
    def fit_once(seed):
        answers.append(call(port, "POST", "/fit/scale-out", fit_body(200, seed), timeout=30))
    threads = [threading.Thread(target=fit_once, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = [a[0] for a in answers]
    versions = sorted(int(a[2]["version"][1:]) for a in answers if a[0] == 200)
    assert statuses.count(200) == 20 and versions == list(range(1, 21)), (statuses, versions)
    # Both training instances took some of them (nginx round-robins).
    for instance in trainings:
        metrics = subprocess.run(["curl", "-s", f"http://127.0.0.1:{instance.port}/metrics"], capture_output=True, text=True).stdout
        fits = [float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("anomaly_fits_total")]
        assert fits and fits[0] >= 1, f"{instance.name} took no fit"

    # Read-your-writes across instances: each fit lands on one training instance, each predict on one of three
    # inference instances (round-robin), so the pairs cover every combination.
    for round_number in range(60):
        status, _, fitted, _ = call(port, "POST", "/fit/scale-ryw", fit_body(10, round_number))
        assert status == 200, fitted
        status, _, answer, _ = call(port, "POST", "/predict/scale-ryw", {"timestamp": "1700000999", "value": 50})
        assert status == 200 and answer["model_version"] == fitted["version"], (round_number, fitted, answer)

    # Every inference instance answered some of those predicts.
    for instance in inferences:
        health = call(instance.port, "GET", "/healthcheck")[2]
        assert health["cached_models"] >= 1, f"{instance.name} served nothing"

    # Throughput through the balancer, and straight at one inference instance for reference, same tool.
    def drive(url, seconds=5):
        result = subprocess.run([str(bin_dir() / "anomaly-loadtest"), "--training-url", f"http://127.0.0.1:{port}",
                                 "--inference-url", url, "--series", "scale-load", "--duration", str(seconds),
                                 "--connections", "64", "--json", "--quiet"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    through = drive(f"http://127.0.0.1:{port}")
    direct = drive(f"http://127.0.0.1:{inferences[0].port}")
    report("scale-out (2 training + 3 inference behind nginx, one Postgres and Redis)",
           concurrent_fits="20 through the balancer, versions 1..20", read_your_writes="60/60 across instances",
           predict_through_nginx=f"{through['requests_per_second']:,.0f} req/s p99 {through['latency_ms']['p99']} ms errors {through['errors']['total']}",
           predict_one_instance_direct=f"{direct['requests_per_second']:,.0f} req/s p99 {direct['latency_ms']['p99']} ms")
    assert through["errors"]["total"] == 0 and through["requests"] > 1000, through
