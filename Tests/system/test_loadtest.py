"""anomaly-loadtest, run as a process against the fixture server, a closed port, a silent listener
and a small stand-in for the services that answers like the real ones."""
import json
import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import bin_dir, free_port


def loadtest(*args, timeout=60):
    """Runs the tool; returns (exit code, parsed JSON summary or None, stderr)."""
    completed = subprocess.run(
        [str(bin_dir() / "anomaly-loadtest"), *args],
        capture_output=True, text=True, timeout=timeout,
    )
    summary = json.loads(completed.stdout) if completed.returncode == 0 and "--json" in args else None
    return completed.returncode, summary, completed.stderr


def against_echo(server, *args):
    """The predict load aimed at the fixture's POST /echo, without training."""
    code, summary, stderr = loadtest(
        "--json", "--no-train",
        "--inference-url", f"http://127.0.0.1:{server.port}", "--predict-path", "/echo",
        *args,
    )
    assert code == 0, stderr
    return summary, stderr


# --- against the fixture server -----------------------------------------------------------------


def test_full_speed_against_echo(server):
    summary, stderr = against_echo(server, "--duration", "2", "--connections", "16")
    assert summary["requests"] > 0
    assert summary["responses"] == summary["requests"] == summary["successful"] == summary["predicts"]
    assert summary["status_counts"] == {"200": summary["requests"]}
    assert summary["errors"] == {"total": 0, "status": {}, "socket": 0, "socket_by_kind": {}, "timeouts": 0}
    assert 1.9 <= summary["duration_seconds"] <= 3.5
    assert summary["requests_per_second"] == pytest.approx(summary["requests"] / summary["duration_seconds"], rel=0.01)
    latency = summary["latency_ms"]
    for field in ("avg", "p50", "p90", "p95", "p99", "max"):
        assert isinstance(latency[field], (int, float)) and latency[field] >= 0, field
    assert latency["samples"] == summary["requests"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    # The echo quotes the request body inside a JSON string, so no "anomaly":true can be read in it.
    assert summary["anomaly"]["predictions"] == summary["requests"]
    assert summary["anomaly"]["rate"] == 0
    # The progress line: once a second, on stderr (stdout holds only the JSON).
    assert re.search(r"\[\s*1\.0 s\] \d+ requests, \d+ req/s, 0 errors", stderr), stderr


def test_fixed_rate_is_held_within_a_quarter(server):
    summary, _ = against_echo(server, "--rate", "200", "--duration", "2")
    assert summary["target_rate"] == 200
    assert summary["errors"]["total"] == 0
    assert 150 <= summary["requests_per_second"] <= 250, summary
    assert 300 <= summary["requests"] <= 500, summary


def test_request_count_is_exact(server):
    summary, _ = against_echo(server, "--requests", "500", "--connections", "8")
    assert summary["requests"] == 500
    assert summary["status_counts"] == {"200": 500}


def test_error_statuses_are_counted_by_status(server):
    code, summary, stderr = loadtest(
        "--json", "--no-train", "--quiet", "--inference-url", f"http://127.0.0.1:{server.port}",
        "--predict-path", "/no-such-route", "--requests", "200", "--connections", "4",
    )
    assert code == 0, stderr
    assert summary["errors"]["status"] == {"404": 200}
    assert summary["errors"]["total"] == 200
    assert summary["successful"] == 0


def test_fit_mode_sends_only_fits(server):
    code, summary, stderr = loadtest(
        "--json", "--quiet", "--mode", "fit", "--training-url", f"http://127.0.0.1:{server.port}",
        "--fit-path", "/echo", "--requests", "50", "--connections", "2",
    )
    assert code == 0, stderr
    assert summary["fits"] == 50 and summary["predicts"] == 0
    assert summary["status_counts"] == {"200": 50}
    assert "predict_url" not in summary


def test_training_failure_stops_the_run(server):
    code, _, stderr = loadtest(
        "--json", "--quiet", "--training-url", f"http://127.0.0.1:{server.port}",
        "--inference-url", f"http://127.0.0.1:{server.port}", "--requests", "10",
    )
    assert code != 0
    assert "training failed" in stderr and "404" in stderr


# --- when nothing answers ---------------------------------------------------------------------


def test_closed_port_counts_socket_errors():
    port = free_port()  # bound and released: nothing listens there
    started = time.monotonic()
    code, summary, stderr = loadtest(
        "--json", "--no-train", "--quiet", "--inference-url", f"http://127.0.0.1:{port}", "--duration", "1",
    )
    assert code == 0, stderr
    assert time.monotonic() - started < 10
    assert summary["responses"] == 0
    assert summary["errors"]["socket_by_kind"].get("connect", 0) > 0
    assert summary["errors"]["socket"] == summary["errors"]["total"] == summary["requests"] > 0
    assert summary["latency_ms"]["samples"] == 0


def test_unanswered_requests_time_out():
    # A listener that never accepts: the kernel completes the handshakes, nobody ever answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        started = time.monotonic()
        code, summary, stderr = loadtest(
            "--json", "--no-train", "--quiet", "--inference-url", f"http://127.0.0.1:{port}",
            "--duration", "1", "--timeout", "0.3", "--connections", "4",
        )
        elapsed = time.monotonic() - started
    assert code == 0, stderr
    assert elapsed < 10
    assert summary["responses"] == 0
    assert summary["errors"]["timeouts"] >= 4
    assert summary["errors"]["total"] == summary["requests"]


# --- against a stand-in that answers like the services ------------------------------------------


class FakeModelHandler(BaseHTTPRequestHandler):
    """POST /fit/{id} answers a version; POST /predict/{id} applies 3-sigma around 50 with std 5."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without TCP_NODELAY, Nagle and delayed ACKs stall each response ~40 ms.
    disable_nagle_algorithm = True
    fits = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.startswith("/fit/"):
            FakeModelHandler.fits.append(body)
            answer = {"series_id": self.path[5:], "version": "v1", "points_used": len(body["values"])}
        else:
            value = body["value"]
            answer = {"anomaly": abs(value - 50) > 15, "model_version": "v1"}
        payload = json.dumps(answer).encode()  # default separators: `"anomaly": true`, with a space
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_services():
    FakeModelHandler.fits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeModelHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_trains_then_measures_the_anomaly_rate(fake_services):
    code, summary, stderr = loadtest(
        "--json", "--quiet", "--training-url", fake_services, "--inference-url", fake_services,
        "--series", "load-1", "--requests", "2000", "--connections", "4",
    )
    assert code == 0, stderr
    assert "trained via POST" in stderr and "version v1" in stderr
    assert len(FakeModelHandler.fits) == 1
    fit = FakeModelHandler.fits[0]
    assert len(fit["values"]) == len(fit["timestamps"]) == 1000
    assert fit["timestamps"] == sorted(set(fit["timestamps"]))
    assert summary["predict_url"] == f"{fake_services}/predict/load-1"
    assert summary["anomaly"]["predictions"] == 2000
    # 2 % of the predicts are sent 5 to 8 sigma out, the rest within 2 sigma: the count is exact.
    assert summary["anomaly"]["anomalies"] == 40
    assert summary["anomaly"]["rate"] == pytest.approx(0.02)


def test_fit_ratio_mixes_fits_into_the_load(fake_services):
    code, summary, stderr = loadtest(
        "--json", "--quiet", "--training-url", fake_services, "--inference-url", fake_services,
        "--fit-ratio", "0.1", "--points", "50", "--requests", "400", "--connections", "4",
    )
    assert code == 0, stderr
    assert summary["fits"] == 40 and summary["predicts"] == 360
    assert len(FakeModelHandler.fits) == 41  # the initial fit, then every tenth request
    assert summary["fit_url"] == f"{fake_services}/fit/loadtest"


def test_csv_series_is_what_gets_trained(fake_services, tmp_path):
    csv = tmp_path / "series.csv"
    csv.write_text("timestamp,value\r\n1700000000,10.5\r\n1700000060,11\r\n1700000120,9.5\r\n")
    code, summary, stderr = loadtest(
        "--json", "--quiet", "--training-url", fake_services, "--inference-url", fake_services,
        "--csv", str(csv), "--requests", "20", "--connections", "2",
    )
    assert code == 0, stderr
    assert FakeModelHandler.fits[0] == {"timestamps": [1700000000, 1700000060, 1700000120], "values": [10.5, 11, 9.5]}

    csv.write_text("timestamp,value\n1700000000,1\n1700000060,oops\n")
    code, _, stderr = loadtest("--json", "--csv", str(csv), "--training-url", fake_services, "--requests", "1")
    assert code != 0
    assert "line 3" in stderr and "oops" in stderr
