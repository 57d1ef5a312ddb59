"""Operational routes of all three services: probes, /healthcheck (system-wide, through Redis), /metrics,
/models pagination, the spec, and the flush of pending predictions on SIGTERM."""
import numbers

import pytest

from api_client import expect, expect_error, fit, get, new_series_id, poll, post, predict, timestamps
from backing_stores import RedisServer

LATENCY_KEYS = ("avg", "p50", "p95", "p99", "count")


@pytest.fixture(scope="module")
def own_redis(run_dir):
    """A Redis of this module's own, so the shared latency figures start from nothing."""
    server = RedisServer(run_dir, name="redis-operational")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def svc(own_redis, make_services):
    return make_services(monitoring=True, redis_server=own_redis)


def all_services(svc):
    return [svc.training, svc.inference, svc.monitoring]


def values_around(center):
    return [center - 3.0, center + 3.0, center - 3.0, center + 3.0]


def test_livez_and_readyz_on_every_service(svc):
    for service in all_services(svc):
        live = get(service.port, "/livez")
        assert live.status == 200 and live.json == {"status": "ok"}, (service, live)
        ready = get(service.port, "/readyz")
        assert ready.status == 200, (service, ready)


def check_latency(obj, name, context):
    assert isinstance(obj, dict), f"{name} is not an object: {context!r}"
    for key in LATENCY_KEYS:
        assert isinstance(obj.get(key), numbers.Real) and not isinstance(obj.get(key), bool), f"{name}.{key}: {context!r}"
        assert obj[key] >= 0, f"{name}.{key} negative: {context!r}"
    assert isinstance(obj["count"], int), f"{name}.count is not an integer: {context!r}"
    if obj["count"] > 0:
        assert obj["p50"] <= obj["p95"] <= obj["p99"], f"{name} percentiles out of order: {context!r}"


def test_healthcheck_has_the_contract_fields_on_every_service(svc):
    sid = new_series_id("health")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    predict(svc.inference.port, sid, 10.0)
    for service in all_services(svc):
        health = expect(get(service.port, "/healthcheck"))
        assert isinstance(health["series_trained"], int) and not isinstance(health["series_trained"], bool), health
        assert health["series_trained"] >= 1, health
        check_latency(health["inference_latency_ms"], "inference_latency_ms", health)
        check_latency(health["training_latency_ms"], "training_latency_ms", health)
        assert health["status"] == "ok", health
        assert health.get("service") == service.kind, health
        for dependency in ("postgres", "redis"):
            assert isinstance(health.get(dependency), dict) and "state" in health[dependency], health


def test_series_trained_counts_series_not_versions(svc, pg):
    before = int(pg.psql("SELECT count(*) FROM series"))
    first, second = new_series_id("count-a"), new_series_id("count-b")
    fit(svc.training.port, first, timestamps(4), values_around(1))
    fit(svc.training.port, first, timestamps(4), values_around(2))
    fit(svc.training.port, second, timestamps(4), values_around(3))
    assert int(pg.psql("SELECT count(*) FROM series")) == before + 2

    for service in all_services(svc):
        def matches():
            now = (get(service.port, "/healthcheck").json or {}).get("series_trained")
            return now == before + 2, now

        poll(matches, timeout=5, message=f"{service.name} series_trained == {before + 2} (two new series, three fits)")


def test_latencies_are_shared_between_services_through_redis(svc):
    """Each process publishes its latencies (about once a second); every /healthcheck is system-wide."""
    sid = new_series_id("latency")
    fit(svc.training.port, sid, timestamps(4), values_around(50))

    def inference_count(port):
        return (get(port, "/healthcheck").json or {}).get("inference_latency_ms", {}).get("count", -1)

    baseline = inference_count(svc.training.port)
    n = 40
    for i in range(n):
        predict(svc.inference.port, sid, 50.0 + i)
    for service in (svc.training, svc.monitoring):
        counted = poll(lambda: (inference_count(service.port) >= baseline + n, inference_count(service.port)),
                       timeout=6, message=f"{service.name} seeing {n} inference latencies (baseline {baseline})")
        assert counted >= n
    health = expect(get(svc.training.port, "/healthcheck"))
    assert health["inference_latency_ms"]["avg"] > 0 and health["inference_latency_ms"]["p99"] > 0, health

    def training_count(port):
        return (get(port, "/healthcheck").json or {}).get("training_latency_ms", {}).get("count", -1)

    baseline = training_count(svc.inference.port)
    for k in range(5):
        fit(svc.training.port, sid, timestamps(4), values_around(60 + k))
    poll(lambda: (training_count(svc.inference.port) >= baseline + 5, training_count(svc.inference.port)),
         timeout=6, message="inference seeing 5 more training latencies")


def test_metrics_are_prometheus_text_on_every_service(svc):
    sid = new_series_id("metrics")
    fit(svc.training.port, sid, timestamps(4), values_around(5))
    predict(svc.inference.port, sid, 5.0)
    for service in all_services(svc):
        resp = get(service.port, "/metrics")
        assert resp.status == 200, resp
        assert resp.headers.get("content-type", "").startswith("text/plain"), resp.headers
        assert "# TYPE" in resp.text and resp.text.strip(), resp
    assert "predict" in get(svc.inference.port, "/metrics").text.lower(), "no predictions metric on inference"


def metric(port, name, **labels):
    """The value of one sample of /metrics, or None when the line is missing."""
    sample = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in get(port, "/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return None


def test_predicts_of_a_model_in_memory_read_neither_redis_nor_postgres(svc):
    """The hot path's promise: once a model is in memory, predicts of its latest version and of a pinned one
    make no network round trip. /metrics counts where each model lookup was answered from."""
    sid = new_series_id("in-memory")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    fit(svc.training.port, sid, timestamps(4), values_around(20))
    assert predict(svc.inference.port, sid, 20.0)["model_version"] == "v2"  # first sight may read the stores
    assert predict(svc.inference.port, sid, 10.0, version=1)["model_version"] == "v1"
    sources = ("memory", "redis", "postgres")
    before = {source: metric(svc.inference.port, "anomaly_model_lookups_total", source=source) or 0 for source in sources}
    for _ in range(100):
        assert predict(svc.inference.port, sid, 23.0)["model_version"] == "v2"
        assert predict(svc.inference.port, sid, 13.0, version="v1")["model_version"] == "v1"
    after = {source: metric(svc.inference.port, "anomaly_model_lookups_total", source=source) or 0 for source in sources}
    assert after["memory"] - before["memory"] == 200, (before, after)
    assert after["redis"] == before["redis"] and after["postgres"] == before["postgres"], (before, after)


def test_a_pinned_old_version_in_use_stays_in_memory_while_the_series_is_retrained(svc):
    """Memory holds 4 versions per series. An old version pinned by ?version= and asked for again and again
    takes the place of the least recently used one, and stays while newer versions come."""
    sid = new_series_id("pinned-old")
    for k in range(1, 6):
        fit(svc.training.port, sid, timestamps(4), values_around(10 * k))
    assert predict(svc.inference.port, sid, 50.0)["model_version"] == "v5"
    sources = ("memory", "redis", "postgres")
    for k in range(6, 10):
        assert predict(svc.inference.port, sid, 10.0, version=1)["model_version"] == "v1"
        fit(svc.training.port, sid, timestamps(4), values_around(10 * k))
        assert predict(svc.inference.port, sid, 10.0 * k)["model_version"] == f"v{k}"
    before = {source: metric(svc.inference.port, "anomaly_model_lookups_total", source=source) or 0 for source in sources}
    for _ in range(50):
        assert predict(svc.inference.port, sid, 13.0, version="v1")["model_version"] == "v1"
        assert predict(svc.inference.port, sid, 93.0)["model_version"] == "v9"
    after = {source: metric(svc.inference.port, "anomaly_model_lookups_total", source=source) or 0 for source in sources}
    # The pinned version never asks the subscription; the latest may read Postgres once if the machine starved
    # the subscription's pinger past its silence limit (by design), but never Redis.
    assert after["redis"] == before["redis"], (before, after)
    assert after["memory"] - before["memory"] >= 50 and after["memory"] + after["postgres"] - before["memory"] - before["postgres"] == 100, (before, after)


def test_prediction_log_counts_in_metrics_match_health(svc):
    """Written, pending and dropped records of the prediction log are in /metrics, as in /healthcheck."""
    sid = new_series_id("log-metrics")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    for k in range(20):
        predict(svc.inference.port, sid, 10.0, timestamp=1_000 + k)
    log = poll(lambda: ((h := get(svc.inference.port, "/healthcheck").json["prediction_log"])["pending"] == 0, h),
               timeout=10, message="the prediction log caught up")
    assert log["written"] >= 20
    for name, key in (("written", "written"), ("pending", "pending"), ("dropped", "dropped")):
        assert metric(svc.inference.port, f"anomaly_prediction_records_{name}") == log[key], name


def test_models_pagination_walks_every_series_once(svc):
    prefix = new_series_id("page")
    ours = [f"{prefix}-{i}" for i in range(5)]
    for sid in ours:
        fit(svc.training.port, sid, timestamps(4), values_around(1))
    fit(svc.training.port, ours[0], timestamps(4), values_around(2))
    seen, offset, totals = {}, 0, set()
    while True:
        page = expect(get(svc.training.port, f"/models?limit=2&offset={offset}"))
        assert page["limit"] == 2 and page["offset"] == offset, page
        assert len(page["series"]) <= 2, page
        totals.add(page["total"])
        for entry in page["series"]:
            assert entry["series_id"] not in seen, f"{entry['series_id']} on two pages (offset {offset})"
            seen[entry["series_id"]] = entry
        offset += 2
        if offset >= page["total"]:
            break
        assert page["series"], f"empty page before the end: {page!r}"
    assert len(totals) == 1 and len(seen) == totals.pop(), f"pages disagree: totals {totals}, {len(seen)} series seen"
    for sid in ours:
        assert sid in seen, f"{sid} not listed"
    assert seen[ours[0]]["latest_version"] == "v2" and seen[ours[1]]["latest_version"] == "v1", (seen[ours[0]], seen[ours[1]])
    past_the_end = expect(get(svc.training.port, f"/models?limit=2&offset={len(seen) + 10}"))
    assert past_the_end["series"] == [] and past_the_end["total"] == len(seen), past_the_end
    default = expect(get(svc.training.port, "/models"))
    assert isinstance(default["limit"], int) and default["offset"] == 0, default


@pytest.mark.parametrize("query, field", [("limit=abc", "limit"), ("limit=-1", "limit"), ("offset=-1", "offset"),
                                          ("offset=x", "offset")])
def test_models_rejects_bad_paging(svc, query, field):
    expect_error(get(svc.training.port, f"/models?{query}"), 422, field=field)


def test_every_service_serves_the_spec_and_docs(svc):
    for service in all_services(svc):
        spec = get(service.port, "/openapi.yaml")
        assert spec.status == 200 and "openapi:" in spec.text and "/fit/{series_id}" in spec.text, (service, spec)
        docs = get(service.port, "/docs")
        assert docs.status == 200 and "html" in docs.headers.get("content-type", ""), (service, docs)


def test_sigterm_flushes_pending_predictions(svc, pg):
    """Predictions are written in batches in the background; a SIGTERM must write the pending ones."""
    sid = new_series_id("flush")
    fit(svc.training.port, sid, timestamps(4), values_around(0))
    doomed = svc.start("inference", name="inference-flush")
    n = 150
    for i in range(n):
        assert post(doomed.port, f"/predict/{sid}", {"timestamp": str(1_700_000_000 + i), "value": float(i % 7)}).status == 200
    code = doomed.stop(expect_code=None)
    assert code == 0, f"inference exited with {code} after SIGTERM:\n{doomed.logs()}"
    rows = pg.psql(f"SELECT count(*), count(DISTINCT ts) FROM predictions WHERE series_id = '{sid}'")
    assert rows == f"{n}|{n}", f"after SIGTERM, predictions rows (count, distinct ts) = {rows}, expected {n}"
