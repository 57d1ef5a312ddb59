"""The dashboard in a real headless Chromium: the rendered DOM, no request leaving the host, screenshots."""
import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from api_client import fit, get, new_series_id, poll, predict, timestamps

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".build" / "artifacts"
# Chromium's own background traffic (clock, component updates, accounts) also goes to the proxy; it is not
# the page's doing, so it is told apart by host. Anything else that reaches the trap came from the page.
BROWSER_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com")


class TrapProxy:
    """An HTTP proxy that answers nothing and remembers every request line sent to it."""

    def __init__(self):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.requests = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                client.settimeout(2)
                line = client.recv(4096).split(b"\r\n")[0].decode(errors="replace")
                if line:
                    self.requests.append(line)
            except OSError:
                pass
            finally:
                client.close()

    def page_requests(self):
        return [r for r in self.requests if not any(host in r.split(" ")[1] for host in BROWSER_HOSTS)]

    def close(self):
        self.server.close()


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium is not installed; scripts/install-deps.sh test installs it")


def run_browser(proxy, url, *extra, timeout=60):
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-default-apps", "--disable-extensions", f"--proxy-server=http://127.0.0.1:{proxy.port}",
               *extra, url]
    result = subprocess.run(command, capture_output=True, timeout=timeout, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def svc(make_services):
    services = make_services()
    services.start("monitoring")
    series = new_series_id("browser")
    fit(services.training.port, series, timestamps(50), [20 + (i % 7) * 0.5 for i in range(50)])
    for value in [20.5, 21.0, 80.0, 19.5, -30.0]:
        predict(services.inference.port, series, value)
    # The prediction log is written within about 20 ms, the counters within about a second.
    poll(lambda: (predictions(services, series) == 5, None), timeout=15)
    services.series = series
    return services


def predictions(services, series):
    resp = get(services.monitoring.port, f"/api/series/{series}")
    return json.loads(resp.body)["summary"]["predictions"] if resp.status == 200 else None


@pytest.fixture
def proxy():
    trap = TrapProxy()
    yield trap
    trap.close()


def test_the_trap_catches_a_page_that_loads_from_outside(proxy, tmp_path):
    """The control: without it, an empty trap would prove nothing."""
    page = tmp_path / "external.html"
    page.write_text('<html><body><img src="http://example.com/x.png"></body></html>')
    run_browser(proxy, page.as_uri(), "--dump-dom")
    poll(lambda: (any("example.com" in r for r in proxy.page_requests()), proxy.requests), timeout=5)


def test_dashboard_renders_in_chromium_without_external_requests(svc, proxy):
    dom = run_browser(proxy, f"http://127.0.0.1:{svc.monitoring.port}/dashboard", "--dump-dom", "--virtual-time-budget=3000")
    assert svc.series in dom
    assert 'data-component="postgres"' in dom and 'class="up" data-component="inference"' in dom
    assert dom.count("<svg") >= 4
    # The anomalies card and the series' row: 2 anomalies out of 5 predictions.
    assert 'id="anomalies"' in dom
    row = dom[dom.index(f'href="/dashboard/series/{svc.series}"'):]
    row = row[:row.index("</tr>")]
    assert "<td>5</td><td>2</td>" in row, row
    assert proxy.page_requests() == [], proxy.page_requests()


def test_series_page_renders_in_chromium_with_its_plot(svc, proxy):
    dom = run_browser(proxy, f"http://127.0.0.1:{svc.monitoring.port}/dashboard/series/{svc.series}", "--dump-dom")
    assert f"{svc.series} — v1" in dom
    assert dom.count('class="prediction anomaly"') == 2
    assert dom.count('class="anomaly"') == 2   # highlighted rows
    assert proxy.page_requests() == [], proxy.page_requests()


def test_screenshots_are_saved(svc, proxy):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, path, size in (("dashboard.png", "/dashboard", "1400,1700"), ("series.png", f"/dashboard/series/{svc.series}", "1200,1400")):
        target = ARTIFACTS / name
        target.unlink(missing_ok=True)
        run_browser(proxy, f"http://127.0.0.1:{svc.monitoring.port}{path}", f"--screenshot={target}", f"--window-size={size}")
        data = target.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, (name, len(data))
    assert proxy.page_requests() == [], proxy.page_requests()
