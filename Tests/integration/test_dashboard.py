"""The monitoring service against real training and inference services: pages, plots, JSON, status."""
import json
import time

import pytest

from api_client import expect, fit, get, new_series_id, poll, predict, timestamps


def until(check, timeout):
    """Polls a boolean check."""
    poll(lambda: (check(), None), timeout=timeout)

NORMAL = [10.0, 11.0, 9.0, 10.5, 9.5, 10.2, 9.8, 10.1]
ANOMALOUS = [30.0, -12.0, 45.0]


@pytest.fixture(scope="module")
def svc(make_services):
    # Room for a 1M-point fit body (about 19 MB).
    services = make_services(env={"HTTP_MAX_BODY_BYTES": str(64 << 20), "HTTP_BODY_TIMEOUT_SECONDS": "30"})
    services.start("monitoring")
    return services


@pytest.fixture(scope="module")
def trained(svc):
    """Series `hot` with two versions, 5 normal and 3 anomalous predictions; series `quiet` with none."""
    hot, quiet = new_series_id("hot"), new_series_id("quiet")
    fit(svc.training.port, hot, timestamps(8), [v + 1 for v in NORMAL])
    fit(svc.training.port, hot, timestamps(8), NORMAL)
    fit(svc.training.port, quiet, timestamps(5), [1, 2, 3, 2, 1])
    answers = [predict(svc.inference.port, hot, value) for value in NORMAL[:5] + ANOMALOUS]
    assert sum(a["anomaly"] for a in answers) == 3
    # The log is written within about 20 ms and the counters within about a second.
    until(lambda: expect(get(svc.monitoring.port, f"/api/series/{hot}"))["summary"]["predictions"] == 8, timeout=10)
    return hot, quiet


def test_dashboard_shows_status_totals_charts_and_series(svc, trained):
    hot, quiet = trained
    resp = get(svc.monitoring.port, "/dashboard")
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    page = resp.text
    for component in ("training", "inference", "monitoring", "postgres", "redis"):
        assert f'class="up" data-component="{component}"' in page, component
    assert f'href="/dashboard/series/{hot}"' in page and f'href="/dashboard/series/{quiet}"' in page
    assert page.count("<svg") >= 4   # requests/s and p95 for predict and fit
    assert 'id="anomalies"' in page
    # Nothing is loaded from anywhere: no src=, no stylesheet links, no external URL.
    assert " src=" not in page and "<link" not in page and "https://" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_series_table_counts_predictions_and_anomalies(svc, trained):
    hot, _ = trained
    page = expect(get(svc.monitoring.port, f"/api/series?q={hot}"))
    assert page["total"] == 1
    row = page["series"][0]
    assert (row["series_id"], row["latest_version"], row["predictions"], row["anomalies"]) == (hot, 2, 8, 3)
    assert row["last_anomaly_at"] and row["last_anomaly_timestamp"]
    html = get(svc.monitoring.port, "/dashboard?sort=anomalies&order=desc").text
    assert html.index(hot) < html.index(trained[1]), "sorted by anomalies, the anomalous series comes first"


def test_series_api_lists_the_recent_predictions_newest_first(svc, trained):
    """Read back from the log's packed records, across however many writer batches they went out in."""
    hot, _ = trained
    recent = expect(get(svc.monitoring.port, f"/api/series/{hot}"))["recent_predictions"]
    sent = NORMAL[:5] + ANOMALOUS
    assert [p["value"] for p in recent] == [float(v) for v in reversed(sent)], recent
    assert [p["anomaly"] for p in recent] == [True] * 3 + [False] * 5, recent
    assert all(p["version"] == 2 for p in recent), recent
    assert all(abs(p["z_score"]) > 3 for p in recent[:3]) and all(abs(p["z_score"]) <= 3 for p in recent[3:]), recent


def test_series_table_pages_sorts_and_rejects_bad_parameters(svc, trained):
    first = expect(get(svc.monitoring.port, "/api/series?page_size=1&page=1&sort=series_id"))
    second = expect(get(svc.monitoring.port, "/api/series?page_size=1&page=2&sort=series_id"))
    assert first["total"] >= 2 and len(first["series"]) == len(second["series"]) == 1
    assert first["series"][0]["series_id"] < second["series"][0]["series_id"]
    for query, field in (("sort=drop_table", "sort"), ("order=sideways", "order"), ("page=0", "page"), ("page_size=9999", "page_size")):
        resp = get(svc.monitoring.port, f"/api/series?{query}")
        assert resp.status == 422, (query, resp)
        assert json.loads(resp.body)["field"] == field


def test_series_page_has_plot_versions_and_highlighted_anomalies(svc, trained):
    hot, _ = trained
    resp = get(svc.monitoring.port, f"/dashboard/series/{hot}")
    assert resp.status == 200
    page = resp.text
    assert f"{hot} — v2" in page                       # the plot of the latest version
    assert page.count('class="prediction anomaly"') == 3
    assert page.count('<tr class="anomaly">') == 3       # the predictions table
    assert "<td>v1</td>" in page and "<td>v2</td>" in page
    older = get(svc.monitoring.port, f"/dashboard/series/{hot}?version=v1").text
    assert f"{hot} — v1" in older
    assert get(svc.monitoring.port, f"/dashboard/series/{hot}?version=v9").status == 404
    assert get(svc.monitoring.port, "/dashboard/series/never-trained").status == 404


def test_plot_is_an_svg_of_the_version_with_band_mean_and_predictions(svc, trained):
    hot, _ = trained
    resp = get(svc.monitoring.port, f"/plot?series_id={hot}&version=v1")
    assert resp.status == 200 and resp.headers["content-type"] == "image/svg+xml"
    svg = resp.text
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'class="band"' in svg and 'class="mean"' in svg and "<polyline" in svg
    assert svg.count('class="prediction anomaly"') == 3 and svg.count('class="prediction normal"') == 5
    assert f"{hot} — v1" in svg
    latest = get(svc.monitoring.port, f"/plot/{hot}").text
    assert f"{hot} — v2" in latest


@pytest.mark.parametrize("path, status", [
    ("/plot?series_id=never-trained", 404),
    ("/plot/never-trained", 404),
    ("/plot?series_id={hot}&version=v7", 404),
    ("/plot?series_id={hot}&version=zero", 422),
    ("/plot", 422),
    ("/plot?series_id=%3Cscript%3E", 422),
])
def test_plot_errors_use_the_error_shape(svc, trained, path, status):
    resp = get(svc.monitoring.port, path.format(hot=trained[0]))
    assert resp.status == status, resp
    body = json.loads(resp.body)
    assert set(body) >= {"error", "message"}


def test_a_million_point_series_plots_small_and_keeps_its_spike(svc):
    series = new_series_id("big")
    n = 1_000_000
    values = [float((i * 7919) % 1000) for i in range(n)]
    values[654_321] = 5000.0
    fit(svc.training.port, series, timestamps(n, step=1), values)
    started = time.monotonic()
    resp = get(svc.monitoring.port, f"/plot/{series}", timeout=30)
    elapsed = time.monotonic() - started
    assert resp.status == 200
    assert len(resp.body) < 300_000, len(resp.body)
    # Its time is a figure, not an assertion (timed tests flake on a shared machine): about 0.3-1 s.
    print(f"1M-point /plot: {elapsed:.3f} s, {len(resp.body)} bytes")
    # The spike survives downsampling: the highest y tick is above 4000.
    assert "5000" in resp.text or "4500" in resp.text or "4000" in resp.text


def test_user_text_is_escaped_everywhere(svc, trained):
    hostile = "<script>alert(1)</script>"
    assert get(svc.training.port, "/fit/%3Cscript%3E").status in (404, 405)   # ids cannot hold markup at all
    page = get(svc.monitoring.port, "/dashboard?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%3E").text
    assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;" in page
    resp = get(svc.monitoring.port, "/dashboard/series/%3Cimg%20src%3Dx%3E")
    assert resp.status == 422 and b"<img" not in resp.body


def test_healthcheck_is_the_system_view(svc, trained):
    health = expect(get(svc.monitoring.port, "/healthcheck"))
    assert health["series_trained"] >= 2
    assert health["inference_latency_ms"]["count"] >= 8 and "p95" in health["training_latency_ms"]
    assert {name: health["services"][name]["state"] for name in ("training", "inference", "postgres", "redis")} == \
        {"training": "up", "inference": "up", "postgres": "up", "redis": "up"}


def test_overview_counts_per_minute(svc, trained):
    # The predictions of the fixture were sent seconds ago: they are in the last 60 s.
    until(lambda: expect(get(svc.monitoring.port, "/api/overview"))["totals"]["predictions_last_minute"] >= 1, timeout=10)
    overview = expect(get(svc.monitoring.port, "/api/overview"))
    totals = overview["totals"]
    assert totals["series_trained"] >= 2 and totals["model_versions"] >= 3
    assert totals["predictions"] >= 8 and totals["anomalies"] >= 3
    predict_minutes = [m for m in totals["minutes"] if m["kind"] == "predict"]
    fit_minutes = [m for m in totals["minutes"] if m["kind"] == "fit"]
    assert sum(m["requests"] for m in predict_minutes) >= 8
    assert sum(m["anomalies"] for m in predict_minutes) >= 3
    until(lambda: sum(m["requests"] for m in [x for x in expect(get(svc.monitoring.port, "/api/overview"))["totals"]["minutes"] if x["kind"] == "fit"]) >= 3, timeout=5)
    assert all(m["p95_ms"] and m["p95_ms"] > 0 for m in predict_minutes + fit_minutes)


def test_a_service_that_goes_down_turns_red_within_seconds(svc, trained):
    svc.inference.kill()
    started = time.monotonic()
    until(lambda: expect(get(svc.monitoring.port, "/api/overview"))["status"]["components"]["inference"]["state"] == "down", timeout=5)
    assert time.monotonic() - started < 4
    assert 'class="down" data-component="inference"' in get(svc.monitoring.port, "/dashboard").text
    svc.inference.restart()
    until(lambda: expect(get(svc.monitoring.port, "/api/overview"))["status"]["components"]["inference"]["state"] == "up", timeout=10)
