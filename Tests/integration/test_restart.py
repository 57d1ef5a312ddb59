"""Models live in Postgres: restarted services find every series and version again."""
import pytest

from api_client import assert_close, expect, fit, get, new_series_id, poll, predict, timestamps


@pytest.fixture(scope="module")
def svc(make_services):
    return make_services()


def values_around(center, spread=3.0):
    return [center - spread, center + spread, center - spread, center + spread]


@pytest.fixture(scope="module")
def before_restart(svc):
    """Three series with 1, 2 and 3 versions, predicted once each (so they are cached), then a restart."""
    fitted = {}
    for n_versions, name in enumerate(("one", "two", "three"), start=1):
        sid = new_series_id(f"restart-{name}")
        fitted[sid] = [fit(svc.training.port, sid, timestamps(4), values_around(100.0 * k, spread=k))
                       for k in range(1, n_versions + 1)]
        assert predict(svc.inference.port, sid, 0.0)["model_version"] == f"v{n_versions}"
    svc.training.restart()
    svc.inference.restart()
    return fitted


def test_latest_and_pinned_versions_predict_after_a_restart(svc, before_restart):
    for sid, versions in before_restart.items():
        for port in (svc.inference.port, svc.training.port):
            latest = predict(port, sid, 0.0)
            assert latest["model_version"] == versions[-1]["version"], latest
            for fitted in versions:
                body = predict(port, sid, 0.0, version=fitted["version"])
                assert body["model_version"] == fitted["version"], body
                assert_close(body["z_score"], (0.0 - fitted["mean"]) / fitted["std"], what="z_score", context=body)


def test_models_lists_them_after_a_restart(svc, before_restart):
    for sid, versions in before_restart.items():
        listed = expect(get(svc.training.port, f"/models/{sid}"))
        assert sorted(v["version"] for v in listed["versions"]) == sorted(f["version"] for f in versions), listed
        for entry in listed["versions"]:
            fitted = next(f for f in versions if f["version"] == entry["version"])
            assert entry["mean"] == fitted["mean"] and entry["std"] == fitted["std"], (entry, fitted)
    found = {}
    offset = 0
    while True:
        page = expect(get(svc.training.port, f"/models?limit=50&offset={offset}"))
        found.update({s["series_id"]: s for s in page["series"]})
        offset += 50
        if offset >= page["total"] or not page["series"]:
            break
    for sid, versions in before_restart.items():
        assert sid in found, f"{sid} missing from /models after restart"
        assert found[sid]["latest_version"] == versions[-1]["version"], found[sid]


def test_versions_continue_after_a_restart(svc, before_restart):
    sid = next(iter(s for s, v in before_restart.items() if len(v) == 3))
    fitted = fit(svc.training.port, sid, timestamps(4), values_around(7.0))
    assert fitted["version"] == "v4", fitted
    assert predict(svc.inference.port, sid, 7.0)["model_version"] == "v4"


def test_series_trained_counts_them_after_a_restart(svc, before_restart):
    def counted():
        health = get(svc.inference.port, "/healthcheck").json or {}
        return isinstance(health.get("series_trained"), int) and health["series_trained"] >= len(before_restart), health

    poll(counted, timeout=5, message="series_trained after restart")


def test_a_fresh_inference_instance_that_never_saw_a_fit_finds_them(svc, before_restart):
    fresh = svc.start("inference", name="inference-fresh")
    try:
        for sid in before_restart:
            listed = expect(get(svc.training.port, f"/models/{sid}"))
            latest = max(listed["versions"], key=lambda v: int(v["version"][1:]))
            assert predict(fresh.port, sid, 0.0)["model_version"] == latest["version"]
            assert predict(fresh.port, sid, 0.0, version="1")["model_version"] == "v1"
    finally:
        fresh.stop()
