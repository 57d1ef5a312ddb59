"""Read-your-writes: a predict that starts after a fit's response uses that fit's version (or newer)."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from api_client import assert_close, fit, new_series_id, post, predict, timestamps, version_number

ROUNDS = 200


@pytest.fixture(scope="module")
def svc(make_services):
    return make_services()


def values_around(center):
    """Mean exactly `center`, population std exactly 3 (see test_versions.spread_values)."""
    return [center - 3.0, center + 3.0, center - 3.0, center + 3.0]


def check_round(port, sid, fitted, probe, where):
    body = predict(port, sid, probe)
    assert body["model_version"] == fitted["version"], (
        f"{where}: predict right after the fit of {fitted['version']} used {body['model_version']}: {body!r}")
    assert_close(body["z_score"], (probe - fitted["mean"]) / fitted["std"], what=f"z_score on {where}", context=body)


def test_every_fit_is_visible_to_the_next_predict(svc):
    sid = new_series_id("ryw")
    for i in range(1, ROUNDS + 1):
        fitted = fit(svc.training.port, sid, timestamps(4), values_around(100 * i))
        assert fitted["version"] == f"v{i}", fitted
        # a stale model would give z = (probe - 100 (i-1)) / 3 ~ 33.5, not 0.5
        check_round(svc.inference.port, sid, fitted, 100.0 * i + 1.5, f"round {i}")


def test_a_second_inference_instance_and_the_training_service_see_each_fit_too(svc):
    second = svc.start("inference", name="inference-second")
    sid = new_series_id("ryw-two")
    for i in range(1, ROUNDS + 1):
        fitted = fit(svc.training.port, sid, timestamps(4), values_around(-50 * i))
        probe = -50.0 * i - 1.5
        # both instances have the previous version cached by now, so each must notice the new one
        check_round(svc.inference.port, sid, fitted, probe, f"first inference, round {i}")
        check_round(second.port, sid, fitted, probe, f"second inference, round {i}")
        check_round(svc.training.port, sid, fitted, probe, f"training /predict, round {i}")


def test_predicts_racing_with_fits_never_go_back_in_time(svc):
    """A writer fits 60 versions while readers predict without pause on three processes; every predict
    must use at least the newest version whose fit response arrived before the predict was sent."""
    sid = new_series_id("ryw-race")
    fit(svc.training.port, sid, timestamps(4), values_around(0))
    completed = [(time.monotonic(), 1)]  # (when the fit response arrived, its version)
    params = {1: (0.0, 3.0)}
    done = threading.Event()
    lock = threading.Lock()

    def writer():
        try:
            for i in range(2, 61):
                fitted = fit(svc.training.port, sid, timestamps(4), values_around(10 * i))
                arrived = time.monotonic()
                number = version_number(fitted["version"])
                with lock:
                    completed.append((arrived, number))
                    params[number] = (fitted["mean"], fitted["std"])
        finally:
            done.set()

    def reader(port):
        observations = []
        while not done.is_set():
            sent = time.monotonic()
            resp = post(port, f"/predict/{sid}", {"timestamp": "1609459500", "value": 1000.0})
            observations.append((sent, resp))
        return observations

    with ThreadPoolExecutor(max_workers=4) as pool:
        readers = [pool.submit(reader, port) for port in (svc.inference.port, svc.inference.port, svc.training.port)]
        pool.submit(writer).result()
        observed = [item for future in readers for item in future.result()]

    assert len(completed) == 60 and sorted(n for _, n in completed) == list(range(1, 61)), completed
    assert len(observed) > 60, f"readers made only {len(observed)} predicts"
    for sent, resp in observed:
        assert resp.status == 200, resp
        required = max(n for arrived, n in completed if arrived < sent)
        got = version_number(resp.json["model_version"])
        assert got >= required, f"predict sent after v{required} was acknowledged used v{got}: {resp!r}"
        mean, std = params[got]
        assert_close(resp.json["z_score"], (1000.0 - mean) / std, what=f"z_score of v{got}", context=resp)


def test_a_series_first_seen_as_unknown_is_found_right_after_its_first_fit(svc):
    """Unknown series are remembered as missing (so 404 floods cost Postgres nothing); the first fit's
    announcement must undo that before the fit is acknowledged."""
    for round_number in range(20):
        sid = new_series_id(f"late-{round_number}")
        for _ in range(3):
            resp = post(svc.inference.port, f"/predict/{sid}", {"timestamp": "1", "value": 1.0})
            assert resp.status == 404, resp
        fitted = fit(svc.training.port, sid, timestamps(4), values_around(50.0))
        body = predict(svc.inference.port, sid, 51.5)
        assert body["model_version"] == fitted["version"] == "v1", body
