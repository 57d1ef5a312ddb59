"""Every rejection: status code, the one error shape, and the field where it is deterministic."""
import json

import pytest

import uuid

from api_client import BASE_TS, expect, expect_error, fit, get, new_series_id, post, predict, timestamps

TS = timestamps(4)
VALUES = [1.0, 2.0, 3.0, 5.0]


@pytest.fixture(scope="module")
def svc(make_services):
    services = make_services()
    services.start("training", name="training-min5", env={"MIN_TRAINING_POINTS": "5"})
    return services


@pytest.fixture(scope="module")
def fitted(svc):
    sid = new_series_id("valid")
    fit(svc.training.port, sid, TS, VALUES)
    return sid


def body(**changes):
    document = {"timestamps": list(TS), "values": list(VALUES)}
    for key, value in changes.items():
        if value is ...:
            document.pop(key)
        else:
            document[key] = value
    return document


def raw_fit(values_literal, ts=TS, extra=""):
    return f'{{"timestamps": {json.dumps(ts)}, "values": {values_literal}{extra}}}'.encode()


# (id, request body, accepted statuses, expected field or None when the field is not deterministic)
FIT_REJECTIONS = [
    ("two_points", body(timestamps=TS[:2], values=[1.0, 2.0]), 422, None),
    ("no_points", body(timestamps=[], values=[]), 422, None),
    ("constant_series", body(values=[5.0, 5.0, 5.0, 5.0]), 422, "values"),
    ("more_values_than_timestamps", body(values=VALUES + [9.0]), 422, None),
    ("fewer_values_than_timestamps", body(values=VALUES[:3]), 422, None),
    ("string_value", body(values=[1.0, "a", 3.0, 4.0]), 422, "values[1]"),
    ("null_value", body(values=[1.0, 2.0, None, 4.0]), 422, "values[2]"),
    ("boolean_value", body(values=[1.0, 2.0, 3.0, True]), 422, "values[3]"),
    ("array_value", body(values=[1.0, [2.0], 3.0, 4.0]), 422, "values[1]"),
    ("numeric_string_value", body(values=[1.0, 2.0, "3", 4.0]), 422, "values[2]"),
    ("unsorted_timestamps", body(timestamps=[TS[0], TS[2], TS[1], TS[3]]), 422, "timestamps[2]"),
    ("duplicate_timestamps", body(timestamps=[TS[0], TS[1], TS[1], TS[3]]), 422, "timestamps[2]"),
    ("decreasing_last_timestamp", body(timestamps=[TS[0], TS[1], TS[2], TS[0]]), 422, "timestamps[3]"),
    ("string_timestamp", body(timestamps=[TS[0], "abc", TS[2], TS[3]]), 422, "timestamps[1]"),
    ("fractional_timestamp", body(timestamps=[TS[0], TS[1] + 0.5, TS[2], TS[3]]), 422, "timestamps[1]"),
    ("null_timestamp", body(timestamps=[None, TS[1], TS[2], TS[3]]), 422, "timestamps[0]"),
    ("timestamp_beyond_int64", raw_fit(json.dumps(VALUES), ts=[TS[0], TS[1], TS[2], 2**63]), 422, "timestamps[3]"),
    ("threshold_zero", body(threshold=0), 422, "threshold"),
    ("threshold_negative", body(threshold=-1), 422, "threshold"),
    ("threshold_string", body(threshold="x"), 422, "threshold"),
    ("threshold_boolean", body(threshold=True), 422, "threshold"),
    ("direction_sideways", body(direction="sideways"), 422, "direction"),
    ("direction_number", body(direction=1), 422, "direction"),
    ("direction_empty", body(direction=""), 422, "direction"),
    ("missing_timestamps", body(timestamps=...), 422, "timestamps"),
    ("missing_values", body(values=...), 422, "values"),
    ("timestamps_not_an_array", body(timestamps=5), 422, "timestamps"),
    ("values_not_an_array", body(values="1,2,3,5"), 422, "values"),
    ("malformed_json", b'{"timestamps": [1, 2', 400, None),
    ("trailing_garbage", json.dumps(body()).encode() + b" xyz", 400, None),
    ("nan_token", raw_fit("[1, 2, NaN, 4]"), (400, 422), None),
    ("body_is_an_array", b"[]", 400, None),
    ("body_is_a_string", b'"fit me"', (400, 422), None),
    ("empty_body", b"", 400, None),
]


@pytest.mark.parametrize("payload, status, field", [case[1:] for case in FIT_REJECTIONS],
                         ids=[case[0] for case in FIT_REJECTIONS])
def test_fit_rejects(svc, payload, status, field):
    sid = new_series_id("reject")
    resp = post(svc.training.port, f"/fit/{sid}", payload)
    expect_error(resp, status, field=field)


@pytest.mark.parametrize("payload, field", [
    (raw_fit("[1, 2, 1e999, 4]"), "values[2]"),
    (raw_fit("[1, 2, -1e999, 4]"), "values[2]"),
    (raw_fit(json.dumps(VALUES), extra=', "threshold": 1e999'), "threshold"),
], ids=["value_overflows", "value_overflows_negative", "threshold_overflows"])
def test_fit_rejects_numbers_that_overflow_a_double(svc, payload, field):
    # Valid JSON (RFC 8259 sets no range), a number no double holds: the field's mistake, as a non-finite value.
    resp = post(svc.training.port, f"/fit/{new_series_id('reject')}", payload)
    expect_error(resp, 422, field=field)


def test_rejected_fits_store_nothing(svc):
    sid = new_series_id("reject-nothing")
    expect_error(post(svc.training.port, f"/fit/{sid}", body(values=[1.0, "a", 3.0, 4.0])), 422)
    expect_error(get(svc.training.port, f"/models/{sid}"), 404)
    expect_error(post(svc.inference.port, f"/predict/{sid}", {"timestamp": "1", "value": 1}), 404)
    assert fit(svc.training.port, sid, TS, VALUES)["version"] == "v1"


@pytest.mark.parametrize("n, accepted", [(2, False), (3, True)])
def test_min_training_points_default_is_three(svc, n, accepted):
    resp = post(svc.training.port, f"/fit/{new_series_id('minpts')}", body(timestamps=TS[:n], values=VALUES[:n]))
    if accepted:
        assert expect(resp)["points_used"] == n
    else:
        expect_error(resp, 422)


@pytest.mark.parametrize("n, accepted", [(4, False), (5, True)])
def test_min_training_points_is_configurable(svc, n, accepted):
    training = next(s for s in svc.all if s.name == "training-min5")
    payload = {"timestamps": timestamps(n), "values": [1.0, 2.0, 3.0, 5.0, 8.0][:n]}
    resp = post(training.port, f"/fit/{new_series_id('minpts5')}", payload)
    if accepted:
        assert expect(resp)["points_used"] == n
    else:
        expect_error(resp, 422)


@pytest.mark.parametrize("raw_id", ["bad%20id", "a%2Fb", "x" * 129, "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                                    "caf%C3%A9", "a%00b", "semi%3Bcolon", "quote%27", "%2E%2E%2F%2E%2E"],
                         ids=["space", "slash", "129_chars", "html", "non_ascii", "nul", "semicolon", "quote",
                              "dot_dot_slash"])
@pytest.mark.parametrize("route", ["fit", "predict", "batch", "models"])
def test_bad_series_ids_are_422(svc, raw_id, route):
    if route == "fit":
        resp = post(svc.training.port, f"/fit/{raw_id}", body())
    elif route == "predict":
        resp = post(svc.inference.port, f"/predict/{raw_id}", {"timestamp": "1", "value": 1})
    elif route == "batch":
        resp = post(svc.inference.port, f"/predict/{raw_id}/batch", {"timestamps": [1], "values": [1]})
    else:
        resp = get(svc.training.port, f"/models/{raw_id}")
    expect_error(resp, 422, field="series_id")
    assert "<script>" not in resp.text, resp


@pytest.mark.parametrize("make_id", [
    lambda u: ("x" * (128 - len(u)) + u, "x" * (128 - len(u)) + u),   # 128 characters: the longest allowed
    lambda u: ("Az09_.-" + u, "Az09_.-" + u),                         # every kind of allowed character
    lambda u: ("ok%2Dname%5F" + u, "ok-name_" + u),                   # percent-encoded allowed characters
], ids=["128_chars", "all_classes", "percent_encoded"])
def test_good_series_ids_are_accepted_after_percent_decoding(svc, make_id):
    raw_id, decoded = make_id(uuid.uuid4().hex[:12])
    fitted = expect(post(svc.training.port, f"/fit/{raw_id}", body()))
    assert fitted["series_id"] == decoded, fitted
    predicted = expect(post(svc.inference.port, f"/predict/{raw_id}", {"timestamp": "1", "value": 1.5}))
    assert predicted["series_id"] == decoded and predicted["model_version"] == "v1", predicted
    listed = expect(get(svc.training.port, f"/models/{raw_id}"))
    assert listed["series_id"] == decoded, listed


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_content_type_is_415(svc, fitted, content_type):
    payload = json.dumps(body()).encode()
    expect_error(post(svc.training.port, f"/fit/{new_series_id('ct')}", payload, content_type=content_type), 415)
    expect_error(post(svc.inference.port, f"/predict/{fitted}", b'{"timestamp": "1", "value": 1}',
                      content_type=content_type), 415)


def test_json_content_type_with_charset_is_accepted(svc, fitted):
    expect(post(svc.training.port, f"/fit/{new_series_id('ct')}", body(), content_type="application/json; charset=utf-8"))
    expect(post(svc.inference.port, f"/predict/{fitted}", {"timestamp": "1", "value": 1},
                content_type="application/json; charset=UTF-8"))


def test_wrong_method_is_405_with_allow_and_unknown_path_is_404(svc):
    resp = get(svc.training.port, "/fit/some_series")
    expect_error(resp, 405)
    assert "POST" in resp.headers.get("allow", ""), resp.headers
    resp = get(svc.inference.port, "/predict/some_series")
    expect_error(resp, 405)
    assert "POST" in resp.headers.get("allow", ""), resp.headers
    expect_error(get(svc.training.port, "/no/such/route"), 404)


PREDICT_REJECTIONS = [
    ("timestamp_letters", {"timestamp": "abc", "value": 1.0}, 422, "timestamp"),
    ("timestamp_empty", {"timestamp": "", "value": 1.0}, 422, "timestamp"),
    ("timestamp_trailing_letters", {"timestamp": "12a", "value": 1.0}, 422, "timestamp"),
    ("timestamp_fraction_string", {"timestamp": "1.5", "value": 1.0}, 422, "timestamp"),
    ("timestamp_fraction_number", {"timestamp": 1.5, "value": 1.0}, 422, "timestamp"),
    ("timestamp_null", {"timestamp": None, "value": 1.0}, 422, "timestamp"),
    ("timestamp_boolean", {"timestamp": True, "value": 1.0}, 422, "timestamp"),
    ("timestamp_array", {"timestamp": [1], "value": 1.0}, 422, "timestamp"),
    ("timestamp_beyond_int64", {"timestamp": str(2**63), "value": 1.0}, 422, "timestamp"),
    ("timestamp_missing", {"value": 1.0}, 422, "timestamp"),
    ("value_missing", {"timestamp": "1609459500"}, 422, "value"),
    ("value_string", {"timestamp": "1609459500", "value": "a"}, 422, "value"),
    ("value_null", {"timestamp": "1609459500", "value": None}, 422, "value"),
    ("value_boolean", {"timestamp": "1609459500", "value": False}, 422, "value"),
    ("value_object", {"timestamp": "1609459500", "value": {"v": 1}}, 422, "value"),
    ("malformed_json", b'{"timestamp": "1609459500", "value": ', 400, None),
    ("body_is_an_array", b"[1609459500, 1.0]", 400, None),
]


@pytest.mark.parametrize("payload, status, field", [case[1:] for case in PREDICT_REJECTIONS],
                         ids=[case[0] for case in PREDICT_REJECTIONS])
@pytest.mark.parametrize("service", ["inference", "training"])
def test_predict_rejects(svc, fitted, service, payload, status, field):
    port = getattr(svc, service).port
    expect_error(post(port, f"/predict/{fitted}", payload), status, field=field)


@pytest.mark.parametrize("literal, status", [("1e999", 422), ("-1e999", 422), ("NaN", 400), ("Infinity", 400)])
def test_predict_rejects_non_finite_values(svc, fitted, literal, status):
    # 1e999 is valid JSON that no double holds: a 422 naming the field. NaN and Infinity are not JSON at all.
    resp = post(svc.inference.port, f"/predict/{fitted}", f'{{"timestamp": "1609459500", "value": {literal}}}')
    expect_error(resp, status, field="value" if status == 422 else None)


@pytest.mark.parametrize("literal", ["01", "1.e5", "-", "1e", "+1"])
def test_a_malformed_number_literal_is_malformed_json(svc, fitted, literal):
    # Not JSON at all, unlike 1e999: a 400 whichever field holds it.
    expect_error(post(svc.inference.port, f"/predict/{fitted}", f'{{"timestamp": "1609459500", "value": {literal}}}'), 400)
    expect_error(post(svc.training.port, f"/fit/{new_series_id('literal')}", raw_fit(f"[1, 2, {literal}, 4]")), 400)
    expect_error(post(svc.training.port, f"/fit/{new_series_id('literal')}", raw_fit(json.dumps(VALUES), extra=f', "threshold": {literal}')), 400)


@pytest.mark.parametrize("service", ["inference", "training"])
def test_predict_unknown_series_or_version_is_404(svc, fitted, service):
    port = getattr(svc, service).port
    expect_error(post(port, f"/predict/{new_series_id('nobody')}", {"timestamp": "1", "value": 1}), 404)
    for version in ("v99", "99", "v2"):
        expect_error(post(port, f"/predict/{fitted}?version={version}", {"timestamp": "1", "value": 1}), 404)


@pytest.mark.parametrize("version", ["abc", "v", "v-1", "-1", "1.5", "v1x", "vv1", "%20", "1e3", "0x1"])
@pytest.mark.parametrize("service", ["inference", "training"])
def test_predict_bad_version_is_422(svc, fitted, service, version):
    port = getattr(svc, service).port
    expect_error(post(port, f"/predict/{fitted}?version={version}", {"timestamp": "1", "value": 1}), 422, field="version")


@pytest.mark.parametrize("version", ["0", "v0"])
def test_predict_version_zero_is_not_found_or_invalid(svc, fitted, version):
    resp = post(svc.inference.port, f"/predict/{fitted}?version={version}", {"timestamp": "1", "value": 1})
    expect_error(resp, (404, 422))


BATCH_REJECTIONS = [
    ("string_value", {"timestamps": [1, 2, 3], "values": [1.0, "a", 3.0]}, 422, "values[1]"),
    ("null_value", {"timestamps": [1, 2, 3], "values": [1.0, 2.0, None]}, 422, "values[2]"),
    ("string_timestamp", {"timestamps": [1, "x", 3], "values": [1.0, 2.0, 3.0]}, 422, "timestamps[1]"),
    ("mismatched_lengths", {"timestamps": [1, 2, 3], "values": [1.0, 2.0]}, 422, None),
    ("missing_values", {"timestamps": [1, 2, 3]}, 422, "values"),
    ("missing_timestamps", {"values": [1.0, 2.0]}, 422, "timestamps"),
    ("malformed_json", b'{"timestamps": [1, 2, 3], "values": [', 400, None),
]


@pytest.mark.parametrize("payload, status, field", [case[1:] for case in BATCH_REJECTIONS],
                         ids=[case[0] for case in BATCH_REJECTIONS])
def test_batch_predict_rejects(svc, fitted, payload, status, field):
    expect_error(post(svc.inference.port, f"/predict/{fitted}/batch", payload), status, field=field)


def test_batch_predict_unknown_series_404_bad_version_422(svc, fitted):
    payload = {"timestamps": [1, 2], "values": [1.0, 2.0]}
    expect_error(post(svc.inference.port, f"/predict/{new_series_id('nobody')}/batch", payload), 404)
    expect_error(post(svc.inference.port, f"/predict/{fitted}/batch?version=v99", payload), 404)
    expect_error(post(svc.inference.port, f"/predict/{fitted}/batch?version=abc", payload), 422, field="version")


JUNK = [
    b"{}", b"null", b"true", b"0", b"[1,2]", b"{", b"}", b"\xff\xfe\xfd", b'{"timestamps": null, "values": null}',
    b'{"timestamps": {}, "values": {}}', b'{"timestamp": {}, "value": []}',
    b'{"timestamps": [1e300, 2e300, 3e300], "values": [1, 2, 3]}',
    b'{"timestamps": [-9223372036854775809, 0, 1], "values": [1, 2, 3]}',
    b'{"timestamp": "99999999999999999999999999", "value": 1}',
    b'{"timestamps": [1, 2, 3], "values": [1, 2, ' + b"9" * 400 + b"]}",
    b'{"timestamps": [1, 2, 3], "values": [1, 2, 3], "threshold": "\\u0000"}',
    b'{"\\ud800": 1}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
]


@pytest.mark.parametrize("index", range(len(JUNK)))
def test_junk_bodies_never_get_a_5xx(svc, fitted, index):
    payload = JUNK[index]
    for port, path in [(svc.training.port, f"/fit/{new_series_id('junk')}"),
                       (svc.inference.port, f"/predict/{fitted}"),
                       (svc.inference.port, f"/predict/{fitted}/batch"),
                       (svc.training.port, f"/predict/{fitted}")]:
        resp = post(port, path, payload)
        assert resp.status < 500, f"{path} with junk #{index} {payload[:60]!r}: {resp!r}"
        if resp.status >= 400:
            expect_error(resp, resp.status)
    for service in (svc.training, svc.inference):
        assert service.running, f"{service.name} died on junk #{index}:\n{service.logs()}"
        assert get(service.port, "/livez").status == 200


def test_big_numbers_of_digits_in_a_value_are_accepted_when_finite(svc, fitted):
    # a long but finite literal is a number like any other
    literal = "1" + "0" * 20 + "." + "0" * 300 + "1"
    resp = post(svc.inference.port, f"/predict/{fitted}", f'{{"timestamp": "{BASE_TS}", "value": {literal}}}')
    assert expect(resp)["anomaly"] is True, resp
    assert predict(svc.inference.port, fitted, 2.0)["model_version"] == "v1"
