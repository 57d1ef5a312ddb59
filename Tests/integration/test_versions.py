"""Versions: consecutive per series under concurrency, listed by /models, pinned with ?version=."""
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from api_client import (assert_close, expect, expect_error, fit, get, instant, new_series_id, post, predict,
                        timestamps, version_number)


@pytest.fixture(scope="module")
def svc(make_services):
    return make_services()


def spread_values(center):
    """Mean exactly `center`, population std exactly 3, for an integer center, with any algorithm
    (every running mean is an integer, so nothing rounds)."""
    return [center - 3.0, center + 3.0, center - 3.0, center + 3.0]


@pytest.fixture(scope="module")
def concurrent_series(svc):
    """20 fits of one series at once, each with its own mean (10 * i)."""
    sid = new_series_id("concurrent")

    def one(i):
        try:
            return i, post(svc.training.port, f"/fit/{sid}", {"timestamps": timestamps(4), "values": spread_values(10.0 * i)},
                           timeout=30)
        except OSError as error:  # reported by the test, with the others
            return i, error

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(1, 21)))
    return sid, results


def test_twenty_concurrent_fits_get_versions_v1_to_v20(concurrent_series):
    sid, results = concurrent_series
    failures = [resp for _, resp in results if isinstance(resp, OSError) or resp.status != 200]
    assert not failures, f"{len(failures)} of 20 concurrent fits failed: {failures}"
    versions = sorted(version_number(resp.json["version"]) for _, resp in results)
    assert versions == list(range(1, 21)), f"versions {versions}"
    for i, resp in results:
        assert resp.json["series_id"] == sid and resp.json["mean"] == 10.0 * i and resp.json["std"] == 3.0, resp


def test_models_lists_every_version_with_its_own_parameters(svc, concurrent_series):
    sid, results = concurrent_series
    by_version = {resp.json["version"]: resp.json for _, resp in results}
    listed = expect(get(svc.training.port, f"/models/{sid}"))
    assert listed["series_id"] == sid, listed
    versions = listed["versions"]
    assert sorted(version_number(v["version"]) for v in versions) == list(range(1, 21)), listed
    for entry in versions:
        fitted = by_version[entry["version"]]
        for key in ("mean", "std", "threshold", "direction", "points_used"):
            assert entry[key] == fitted[key], f"{key} of {entry['version']}: listed {entry!r} vs fit {fitted!r}"
        # the same instant, allowing the store to keep fewer fractional digits than the fit response
        assert abs(instant(entry["trained_at"]) - instant(fitted["trained_at"])) < 0.002, (entry, fitted)


def test_predict_pins_any_version_and_defaults_to_the_latest(svc, concurrent_series):
    sid, results = concurrent_series
    mean_of = {resp.json["version"]: resp.json["mean"] for _, resp in results}
    for port in (svc.inference.port, svc.training.port):
        for n in (1, 2, 7, 20):
            for spelled in (f"v{n}", str(n)):
                body = predict(port, sid, 1000.0, version=spelled)
                assert body["model_version"] == f"v{n}", (spelled, body)
                assert_close(body["z_score"], (1000.0 - mean_of[f"v{n}"]) / 3.0, what=f"z_score at {spelled}", context=body)
        latest = predict(port, sid, 1000.0)
        assert latest["model_version"] == "v20", latest
        assert_close(latest["z_score"], (1000.0 - mean_of["v20"]) / 3.0, what="z_score at latest", context=latest)


def test_unknown_version_404_and_bad_version_422(svc, concurrent_series):
    sid, _ = concurrent_series
    payload = {"timestamp": "1609459500", "value": 1.0}
    for version in ("v99", "99", "v21"):
        expect_error(post(svc.inference.port, f"/predict/{sid}?version={version}", payload), 404)
    expect_error(post(svc.inference.port, f"/predict/{sid}?version=abc", payload), 422, field="version")


def test_versions_are_per_series_and_sequential(svc):
    first, second = new_series_id("seq-a"), new_series_id("seq-b")
    assert [fit(svc.training.port, first, timestamps(4), spread_values(i))["version"] for i in range(3)] == ["v1", "v2", "v3"]
    assert fit(svc.training.port, second, timestamps(4), spread_values(5))["version"] == "v1"
    assert fit(svc.training.port, first, timestamps(4), spread_values(9))["version"] == "v4"


def test_concurrent_fits_of_different_series_do_not_interfere(svc):
    ids = [new_series_id(f"many-{i}") for i in range(8)]

    def fits(sid):
        return [post(svc.training.port, f"/fit/{sid}", {"timestamps": timestamps(4), "values": spread_values(k)}, timeout=30)
                for k in range(3)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        per_series = list(pool.map(fits, ids))
    for sid, responses in zip(ids, per_series):
        assert [r.status for r in responses] == [200, 200, 200], responses
        assert [r.json["version"] for r in responses] == ["v1", "v2", "v3"], (sid, responses)


def test_models_of_unknown_series_is_404(svc):
    expect_error(get(svc.training.port, f"/models/{new_series_id('nobody')}"), 404)


def postgres_connections_of(pid, pg_port):
    """The TCP connections to Postgres that process `pid` holds (its socket inodes, matched in /proc/net/tcp)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote_port, state, inode = int(fields[2].split(":")[1], 16), fields[3], fields[9]
            if remote_port == pg_port and state == "01" and inode in inodes:  # 01: ESTABLISHED
                count += 1
    return count


def test_the_postgres_connections_stay_within_db_pool_size_under_twenty_concurrent_fits(svc, pg):
    """DB_POOL_SIZE bounds the pool; the prediction log and its statistics hold one connection each, apart:
    a training process never holds more than DB_POOL_SIZE + 2, however many fits arrive at once."""
    training = svc.start("training", name="training-pool-2", env={"DB_POOL_SIZE": "2"})
    try:
        sid = new_series_id("pool-bound")
        most, stop = [0], threading.Event()

        def sample():
            while not stop.is_set():
                most[0] = max(most[0], postgres_connections_of(training.proc.pid, pg.port))
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with ThreadPoolExecutor(max_workers=20) as pool:
                responses = list(pool.map(lambda i: post(training.port, f"/fit/{sid}", {"timestamps": timestamps(4), "values": spread_values(i)}, timeout=30),
                                          range(20)))
        finally:
            stop.set()
            sampler.join()
        assert [r.status for r in responses] == [200] * 20, responses
        assert sorted(version_number(r.json["version"]) for r in responses) == list(range(1, 21))
        assert 1 <= most[0] <= 4, f"training held {most[0]} Postgres connections with DB_POOL_SIZE=2"
    finally:
        training.stop()
