"""The 3-sigma model through HTTP: fit statistics and predictions against numpy (and exact arithmetic)."""
import math
import time
from fractions import Fraction

import numpy as np
import pytest

from api_client import (BASE_TS, RFC3339, assert_close, expect, fit, instant, new_series_id, post, predict,
                        timestamps)


@pytest.fixture(scope="module")
def svc(make_services):
    return make_services()


def reference(values):
    a = np.asarray(values, dtype=np.float64)
    return float(np.mean(a)), float(np.std(a))  # population std (ddof=0)


def expected_anomaly(value, mean, std, threshold, direction):
    if direction == "upper":
        return value > mean + threshold * std
    if direction == "lower":
        return value < mean - threshold * std
    return abs(value - mean) > threshold * std


@pytest.mark.parametrize("seed, n, loc, scale", [
    (1, 3, 0.0, 1.0),          # the minimum number of points
    (2, 50, 20.0, 5.0),
    (3, 500, -1e3, 250.0),
    (4, 2000, 0.001, 1e-4),    # small values
    (5, 300, 0.0, 1e6),        # mean near zero relative to the spread
])
def test_fit_statistics_match_numpy(svc, seed, n, loc, scale):
    values = np.random.default_rng(seed).normal(loc, scale, n).tolist()
    sid = new_series_id("model-fit")
    body = fit(svc.training.port, sid, timestamps(n), values)
    mean, std = reference(values)
    context = f"for {body!r}"
    assert body["series_id"] == sid and body["version"] == "v1" and body["points_used"] == n, context
    # the mean may be tiny next to the values (cancellation), so allow error relative to the data too
    assert_close(body["mean"], mean, rel=1e-9, abs_tol=1e-13 * max(abs(v) for v in values), what="mean", context=context)
    assert_close(body["std"], std, rel=1e-9, what="std", context=context)
    assert body["threshold"] == 3.0 and body["direction"] == "both", context
    assert RFC3339.match(body["trained_at"]), context
    assert abs(instant(body["trained_at"]) - time.time()) < 300, f"trained_at is not now: {context}"


@pytest.mark.parametrize("direction", ["both", "upper", "lower"])
@pytest.mark.parametrize("threshold", [1.5, 3.0])
def test_predictions_match_numpy(svc, direction, threshold):
    rng = np.random.default_rng(int(threshold * 10) + len(direction))
    values = rng.normal(100.0, 15.0, 200).tolist()
    sid = new_series_id(f"model-{direction}")
    fitted = fit(svc.training.port, sid, timestamps(200), values, threshold=threshold, direction=direction)
    assert fitted["threshold"] == threshold and fitted["direction"] == direction, fitted
    mean, std = reference(values)
    # probes on both sides of every bound, never within 0.05 sigma of one
    multiples = [-10, -4, -3.2, -2.9, -1.6, -1.4, -0.3, 0, 0.3, 1.4, 1.6, 2.9, 3.2, 4, 10]
    seen = set()
    for i, k in enumerate(multiples):
        value = mean + k * std
        body = predict(svc.inference.port, sid, value, timestamp=BASE_TS + 10**5 + i)
        context = f"for value {value!r} ({k} sigma): {body!r}"
        z = (value - mean) / std
        want = expected_anomaly(value, mean, std, threshold, direction)
        seen.add(want)
        assert body["anomaly"] is want, context
        assert body["model_version"] == "v1" and body["series_id"] == sid, context
        assert body["timestamp"] == BASE_TS + 10**5 + i and isinstance(body["timestamp"], int), context
        assert body["value"] == value, context
        assert_close(body["z_score"], z, rel=1e-9, abs_tol=1e-9, what="z_score", context=context)
        assert_close(body["lower_bound"], mean - threshold * std, rel=1e-9, what="lower_bound", context=context)
        assert_close(body["upper_bound"], mean + threshold * std, rel=1e-9, what="upper_bound", context=context)
        assert body["threshold"] == threshold and body["direction"] == direction, context
    assert seen == {True, False}


# (0, 6, 0, 6): mean 3 and std 3 exactly, whatever the algorithm (two-pass, Welford, pairwise):
# every running mean is an integer, so no rounding anywhere. Threshold 1 puts the bounds at 0 and 6.
EXACT = [0.0, 6.0, 0.0, 6.0]


@pytest.mark.parametrize("direction, value, anomaly", [
    ("both", 6.0, False), ("both", 6.000001, True), ("both", 0.0, False), ("both", -0.000001, True),
    ("both", 3.0, False),
    ("upper", 6.0, False), ("upper", 6.000001, True), ("upper", -100.0, False),
    ("lower", 0.0, False), ("lower", -0.000001, True), ("lower", 100.0, False),
])
def test_a_point_exactly_on_the_bound_is_normal(svc, exact_series, direction, value, anomaly):
    body = predict(svc.inference.port, exact_series[direction], value)
    assert body["anomaly"] is anomaly, body
    assert body["lower_bound"] == 0.0 and body["upper_bound"] == 6.0, body
    assert_close(body["z_score"], (value - 3.0) / 3.0, rel=1e-12, abs_tol=1e-15, what="z_score", context=body)


@pytest.fixture(scope="module")
def exact_series(svc):
    series = {}
    for direction in ("both", "upper", "lower"):
        sid = new_series_id(f"exact-{direction}")
        body = fit(svc.training.port, sid, timestamps(4), EXACT, threshold=1, direction=direction)
        assert body["mean"] == 3.0 and body["std"] == 3.0, body
        series[direction] = sid
    return series


def test_default_threshold_bounds_are_strict_too(svc):
    sid = new_series_id("exact-default")
    fit(svc.training.port, sid, timestamps(4), EXACT)
    for value, anomaly in [(12.0, False), (12.000001, True), (-6.0, False), (-6.000001, True)]:
        body = predict(svc.inference.port, sid, value)
        assert body["anomaly"] is anomaly, body
        assert body["z_score"] == (value - 3.0) / 3.0, body


def test_timestamp_may_be_a_digit_string_or_an_integer(svc, exact_series):
    sid = exact_series["both"]
    as_string = expect(post(svc.inference.port, f"/predict/{sid}", {"timestamp": "1609459500", "value": 25.5}))
    as_int = expect(post(svc.inference.port, f"/predict/{sid}", {"timestamp": 1609459500, "value": 25.5}))
    for body in (as_string, as_int):
        assert body["timestamp"] == 1609459500 and body["value"] == 25.5 and body["anomaly"] is True, body
    integer_value = expect(post(svc.inference.port, f"/predict/{sid}", {"timestamp": "1609459500", "value": 4}))
    assert integer_value["value"] == 4 and integer_value["anomaly"] is False, integer_value


def test_batch_predict_keeps_input_order_and_matches_single_predicts(svc):
    rng = np.random.default_rng(7)
    values = rng.normal(-50.0, 4.0, 300).tolist()
    sid = new_series_id("model-batch")
    fit(svc.training.port, sid, timestamps(300), values, threshold=2.0)
    mean, std = reference(values)
    probes = (mean + std * rng.uniform(-5, 5, 120)).tolist()
    probes[0], probes[1] = mean + 100 * std, mean  # one certain anomaly first, one certain normal second
    ts = timestamps(len(probes), start=BASE_TS + 10**6)
    body = expect(post(svc.inference.port, f"/predict/{sid}/batch", {"timestamps": ts, "values": probes}))
    assert body["model_version"] == "v1", body
    assert len(body["anomalies"]) == len(probes) and len(body["z_scores"]) == len(probes), body
    for i, value in enumerate(probes):
        z = (value - mean) / std
        if abs(abs(z) - 2.0) > 1e-6:
            assert body["anomalies"][i] is (abs(value - mean) > 2.0 * std), f"index {i} value {value}: {body['anomalies'][i]}"
        assert_close(body["z_scores"][i], z, rel=1e-9, abs_tol=1e-9, what=f"z_scores[{i}]")
    for i in (0, 1, 17, 119):
        single = predict(svc.inference.port, sid, probes[i])
        assert single["anomaly"] is body["anomalies"][i], (i, single)
        assert_close(single["z_score"], body["z_scores"][i], rel=1e-12, abs_tol=1e-12, what=f"single vs batch z [{i}]")


def test_batch_predict_can_pin_a_version(svc):
    sid = new_series_id("model-batch-pin")
    fit(svc.training.port, sid, timestamps(4), [0.0, 6.0, 0.0, 6.0])        # v1: mean 3, std 3
    fit(svc.training.port, sid, timestamps(4), [100.0, 106.0, 100.0, 106.0])  # v2: mean 103, std 3
    payload = {"timestamps": timestamps(2), "values": [9.0, 103.0]}
    for version in ("v1", "1"):
        body = expect(post(svc.inference.port, f"/predict/{sid}/batch?version={version}", payload))
        assert body["model_version"] == "v1" and body["z_scores"] == [2.0, 100.0 / 3.0], body
    latest = expect(post(svc.inference.port, f"/predict/{sid}/batch", payload))
    assert latest["model_version"] == "v2" and latest["z_scores"][1] == 0.0 and latest["anomalies"] == [True, False], latest


def exact_stats(values):
    fractions = [Fraction(v) for v in values]
    mean = sum(fractions) / len(fractions)
    variance = sum((f - mean) ** 2 for f in fractions) / len(fractions)
    return float(mean), math.sqrt(float(variance))


@pytest.mark.parametrize("offset, noise", [(1e9, 1e-3), (1e12, 0.5), (-3e9, 1e-2)])
def test_large_offset_with_tiny_variance_is_stable(svc, offset, noise):
    """E[x^2] - E[x]^2 loses every digit here (at 1e9 +- 1e-3 it gives a variance of 640 instead of
    8.5e-7, or a negative one); a stable algorithm does not.

    Tolerances, against exact rational arithmetic: any double mean is a few ulps of the offset away
    from the exact one (ulp(1e9) ~ 1.2e-7, i.e. 1e-4 of the noise). Two-pass (numpy) lands within
    ~1e-7 relative on the std; textbook Welford within ~1.5e-5, because each update multiplies two
    deltas that carry that error. Both are stable, so the std is checked to 1e-4 relative and a z
    score to 5e-3 absolute: still nine orders of magnitude tighter than the naive formula's error.
    """
    rng = np.random.default_rng(11)
    values = (offset + rng.normal(0.0, noise, 200)).tolist()
    mean, std = exact_stats(values)
    np_mean, np_std = reference(values)
    assert math.isclose(np_std, std, rel_tol=1e-6)  # the reference agrees with itself
    sid = new_series_id("model-offset")
    body = fit(svc.training.port, sid, timestamps(200), values)
    ulp = math.ulp(offset)
    assert abs(body["mean"] - mean) <= 16 * ulp, f"mean {body['mean']!r} vs exact {mean!r}: {body!r}"
    assert_close(body["std"], std, rel=1e-4, what="std (vs exact)", context=body)
    for k, anomaly in [(10.0, True), (-10.0, True), (1.0, False), (-2.5, False)]:
        value = mean + k * std
        answer = predict(svc.inference.port, sid, value)
        assert answer["anomaly"] is anomaly, answer
        assert_close(answer["z_score"], (value - mean) / std, rel=0, abs_tol=5e-3, what="z_score", context=answer)
