"""Access control with real services: API_TOKEN guards fits and predicts (401 with WWW-Authenticate),
READ_API_TOKEN guards the readable endpoints (the dashboard also through a browser's Basic prompt),
probes stay open, a weak token stops the service without printing it, and no token reaches a log.
Off by default, which every other module (and the seed curls) relies on.
"""
import base64
import subprocess
import time

import pytest

from api_client import expect, get, new_series_id, post, request, timestamps
from service_processes import bin_dir

WRITE = "write-token-7f3a9c2e51d04b68"
READ = "read-token-0c1d2e3f4a5b6c7d"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def send(port, method, path, token=None, body=None, headers=None):
    all_headers = {"Content-Type": "application/json", **(bearer(token) if token else {}), **(headers or {})}
    data = None if body is None else __import__("json").dumps(body).encode()
    return request(port, method, path, body=data, headers=all_headers)


@pytest.fixture(scope="module")
def svc(make_services):
    services = make_services(env={"API_TOKEN": WRITE, "READ_API_TOKEN": READ})
    services.start("monitoring")
    return services


def fit_body(n=5):
    return {"timestamps": timestamps(n), "values": [1.0, 2.0, 3.0, 2.0, 1.5][:n]}


def test_fits_and_predicts_need_the_write_token(svc):
    series = new_series_id("auth")
    missing = send(svc.training.port, "POST", f"/fit/{series}", body=fit_body())
    assert missing.status == 401 and missing.json["error"] == "unauthorized", missing
    assert missing.headers["www-authenticate"].startswith('Bearer realm="anomaly-detection"')
    wrong = send(svc.training.port, "POST", f"/fit/{series}", token=WRITE[:-1] + "x", body=fit_body())
    assert wrong.status == 401 and wrong.json["error"] == "invalid_token", wrong
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    read_only = send(svc.training.port, "POST", f"/fit/{series}", token=READ, body=fit_body())
    assert read_only.status == 401, "the read token must not open writes"
    # Nothing was written by the refused fits.
    assert get(svc.training.port, f"/models/{series}").status == 401  # reads need a token too here
    assert send(svc.training.port, "GET", f"/models/{series}", token=READ).status == 404

    assert expect(send(svc.training.port, "POST", f"/fit/{series}", token=WRITE, body=fit_body()))["version"] == "v1"
    point = {"timestamp": "1700000000", "value": 9.0}
    for path in (f"/predict/{series}", f"/predict/{series}?version=1"):
        refused = send(svc.inference.port, "POST", path, body=point)
        assert refused.status == 401, refused
    batch = send(svc.inference.port, "POST", f"/predict/{series}/batch", body={"timestamps": [1], "values": [1.0]})
    assert batch.status == 401
    answer = expect(send(svc.inference.port, "POST", f"/predict/{series}", token=WRITE, body=point))
    assert answer["anomaly"] is True and answer["model_version"] == "v1"
    # Many predicts: the fast path (model in memory) checks the token as well as the slow one did.
    for _ in range(50):
        assert send(svc.inference.port, "POST", f"/predict/{series}", body=point).status == 401
        assert send(svc.inference.port, "POST", f"/predict/{series}", token=WRITE, body=point).status == 200


def test_probes_stay_open_and_reads_need_the_read_or_write_token(svc):
    for port in (svc.training.port, svc.inference.port, svc.monitoring.port):
        assert get(port, "/livez").status == 200
        assert get(port, "/readyz").status == 200
        for path in ("/healthcheck", "/metrics", "/openapi.yaml", "/docs"):
            assert get(port, path).status == 401, (port, path)
            assert request(port, "HEAD", path).status == 401, ("HEAD", port, path)
            assert send(port, "GET", path, token=READ).status == 200, (port, path)
            assert send(port, "GET", path, token=WRITE).status == 200, (port, path)
    for path in ("/dashboard", "/api/overview", "/plot?series_id=nothing-here"):
        refused = get(svc.monitoring.port, path)
        assert refused.status == 401, path
        assert send(svc.monitoring.port, "GET", path, token=READ).status in (200, 404), path


def test_the_dashboard_accepts_a_browsers_basic_credentials(svc):
    refused = request(svc.monitoring.port, "GET", "/dashboard")
    assert refused.status == 401
    # Both challenges are offered: Bearer for API clients, Basic so that a browser prompts.
    raw = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", f"http://127.0.0.1:{svc.monitoring.port}/dashboard"],
                         capture_output=True, text=True).stdout.lower()
    assert 'www-authenticate: basic realm="anomaly-detection"' in raw and 'www-authenticate: bearer realm=' in raw
    basic = base64.b64encode(f"viewer:{READ}".encode()).decode()
    page = request(svc.monitoring.port, "GET", "/dashboard", headers={"Authorization": f"Basic {basic}"})
    assert page.status == 200 and b"<html" in page.body
    wrong = base64.b64encode(b"viewer:not-the-token-at-all").decode()
    assert request(svc.monitoring.port, "GET", "/dashboard", headers={"Authorization": f"Basic {wrong}"}).status == 401


def test_the_dashboard_status_reads_the_others_health_with_the_read_token(svc):
    # The monitoring probe sends READ_API_TOKEN to the inference /healthcheck: the dropped-records figure is
    # there (it vanished from the overview when the probe was refused with 401).
    time.sleep(1.5)
    overview = expect(send(svc.monitoring.port, "GET", "/api/overview", token=READ))
    assert overview["status"].get("dropped_prediction_records") == 0, overview["status"]


def test_tokens_never_reach_the_logs(svc):
    logs = svc.logs(lines=10_000)
    assert "tokens required" in logs
    assert WRITE not in logs and READ not in logs


def test_a_weak_token_stops_the_service_naming_the_variable_not_the_token(tmp_path):
    weak = "tooShort1"
    # In an empty directory: no developer's .env can change the outcome.
    result = subprocess.run([str(bin_dir() / "training-service"), "--port", "0"], env={"API_TOKEN": weak, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=20, cwd=tmp_path)
    assert result.returncode == 1
    assert "API_TOKEN" in result.stderr and weak not in result.stderr, result.stderr


def test_the_load_tool_sends_the_token(svc):
    series = new_series_id("auth-load")
    result = subprocess.run([str(bin_dir() / "anomaly-loadtest"), "--training-url", f"http://127.0.0.1:{svc.training.port}",
                             "--inference-url", f"http://127.0.0.1:{svc.inference.port}", "--series", series,
                             "--requests", "200", "--connections", "4", "--json", "--quiet", "--token", WRITE],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    summary = __import__("json").loads(result.stdout)
    errors = summary["errors"]
    assert summary["requests"] == 200 and errors["status"] == {} and errors["socket"] == 0 and errors["timeouts"] == 0, summary
    assert summary["anomaly"]["predictions"] == 200
