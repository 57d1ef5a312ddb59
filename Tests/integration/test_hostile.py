"""A battery of hostile requests against all three services, over raw sockets: malformed and
truncated requests, huge and many headers, huge and lying Content-Length, bad chunking, smuggling
shapes (CL+TE, duplicate CL, obs-fold), invalid UTF-8, NaN/Infinity/1e999, JSON nested 10,000 deep,
oversized strings, hostile series ids (unicode, ../, SQL) and wrong types in every field.

Every case must get the right 4xx (or, for a request that never completes, a close), the service
must keep serving (a real fit and predict after each group), and nothing may have been written by a
refused request. The number of cases goes to .build/artifacts/hostile.txt.
"""
import json
import socket
import time

import pytest

from api_client import expect, fit, get, new_series_id, post, predict, timestamps

REPORT_CASES = []


def exchange(port, raw: bytes, timeout=5.0):
    """Sends raw bytes; returns the status of the first response, or 'closed' if the server closed first."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    if not data:
        return "closed"
    return int(data.split(b" ", 2)[1])


def head(method, path, *fields, body=b"", host=True):
    lines = [f"{method} {path} HTTP/1.1"] + (["Host: hostile"] if host else []) + list(fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def json_post(path, body: bytes, content_type="application/json"):
    return head("POST", path, f"Content-Type: {content_type}", f"Content-Length: {len(body)}", body=body)


@pytest.fixture(scope="module")
def svc(make_services):
    services = make_services()
    services.start("monitoring")
    return services


@pytest.fixture(scope="module")
def trained(svc):
    series = new_series_id("hostile")
    fit(svc.training.port, series, timestamps(6), [1, 2, 3, 2, 1, 2])
    return series


def still_serving(svc, series):
    for port in (svc.training.port, svc.inference.port, svc.monitoring.port):
        assert get(port, "/livez").status == 200
    assert predict(svc.inference.port, series, 2.0)["model_version"] == "v1"


# HTTP-level cases, for every service: (name, raw request, accepted statuses).
PROTOCOL_CASES = [
    ("garbage request line", b"GARBAGE\r\n\r\n", {400}),
    ("request line without version", b"GET /livez\r\n\r\n", {400}),
    ("NUL in the request line", b"GET /li\x00vez HTTP/1.1\r\nHost: a\r\n\r\n", {400}),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 505}),
    ("HTTP/3.0", b"GET /livez HTTP/3.0\r\nHost: a\r\n\r\n", {505}),
    ("missing Host", head("GET", "/livez", host=False), {400}),
    ("header without colon", head("GET", "/livez", "NoColonHere"), {400}),
    ("space before colon", head("GET", "/livez", "Host : a"), {400}),
    ("obs-fold", head("GET", "/livez", "X-A: one", " folded"), {400}),
    ("NUL in a header value", head("GET", "/livez", "X-A: a\x00b"), {400}),
    ("one 64 KiB header", head("GET", "/livez", "X-Big: " + "a" * 65536), {431}),
    ("500 headers", head("GET", "/livez", *[f"X-{i}: {i}" for i in range(500)]), {431}),
    ("10 KiB target", head("GET", "/" + "a" * 10240), {414}),
    ("huge Content-Length", head("POST", "/fit/x", "Content-Type: application/json", "Content-Length: 1000000000000"), {413}),
    ("Content-Length beyond Int64", head("POST", "/fit/x", "Content-Length: 99999999999999999999999"), {400, 413}),
    ("negative Content-Length", head("POST", "/fit/x", "Content-Length: -5"), {400}),
    ("non-numeric Content-Length", head("POST", "/fit/x", "Content-Length: 12abc"), {400}),
    ("duplicate differing Content-Length", head("POST", "/fit/x", "Content-Length: 5", "Content-Length: 6", body=b"hello!"), {400}),
    ("CL and TE together (smuggling)", head("POST", "/fit/x", "Content-Length: 5", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"), {400}),
    ("TE chunked twice", head("POST", "/fit/x", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"), {400, 501}),
    ("TE gzip", head("POST", "/fit/x", "Transfer-Encoding: gzip", body=b"0\r\n\r\n"), {501, 400}),
    ("bad chunk size", head("POST", "/fit/x", "Transfer-Encoding: chunked", body=b"ZZ\r\nhello\r\n0\r\n\r\n"), {400}),
    ("chunk size overflow", head("POST", "/fit/x", "Transfer-Encoding: chunked", body=b"FFFFFFFFFFFFFFFFFFFF\r\n"), {400, 413}),
    ("chunk without CRLF", head("POST", "/fit/x", "Transfer-Encoding: chunked", body=b"5\r\nhelloXX0\r\n\r\n"), {400}),
    ("Expect: 200-ok", head("POST", "/fit/x", "Expect: 200-ok", "Content-Length: 2", body=b"{}"), {417}),
    ("unknown method", head("BREW", "/livez"), {405, 501}),
    ("bad percent-encoding", head("GET", "/models/%zz"), {400, 404}),
    ("encoded NUL in the path", head("GET", "/models/a%00b"), {400, 404, 422}),
    ("invalid UTF-8 in the path", head("GET", "/models/%ff%fe"), {400, 404, 422}),
]


@pytest.mark.parametrize("service", ["training", "inference", "monitoring"])
def test_protocol_attacks_get_the_right_4xx_on_every_service(svc, trained, service):
    port = getattr(svc, service).port
    wrong = []
    for name, raw, accepted in PROTOCOL_CASES:
        status = exchange(port, raw)
        if status not in accepted:
            wrong.append(f"{name}: {status}, expected {sorted(accepted)}")
    REPORT_CASES.append((service, "protocol", len(PROTOCOL_CASES)))
    assert not wrong, "\n".join(wrong)
    still_serving(svc, trained)


def test_truncated_and_lying_requests_are_timed_out_or_closed(svc, trained):
    cases = 0
    for port in (svc.training.port, svc.inference.port, svc.monitoring.port):
        # Says 100 bytes, sends 5, then nothing: the body timeout (3 s here) answers 408 or closes.
        started = time.monotonic()
        status = exchange(port, head("POST", "/fit/x", "Content-Type: application/json", "Content-Length: 100", body=b'{"tim'), timeout=10)
        assert status in (408, "closed") and time.monotonic() - started < 8, status
        # Half a head, then the client goes away: nothing to answer, nothing to crash.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /fit/x HTTP/1.1\r\nHost: a\r\nContent-Le")
        cases += 2
    REPORT_CASES.append(("all", "truncated", cases))
    still_serving(svc, trained)


def body_cases(series):
    deep = b'{"timestamps":' + b"[" * 10_000 + b"]" * 10_000 + b',"values":[1,2,3]}'
    big_string = json.dumps({"timestamps": [1, 2, 3], "values": [1, 2, 3], "direction": "x" * 900_000}).encode()
    fit_path = f"/fit/{series}"
    return [
        ("not JSON", fit_path, b"{nope", {400}),
        ("invalid UTF-8", fit_path, b'{"timestamps":[1,2,3],"values":[1,2,3],"direction":"\xff\xfe"}', {400, 422}),
        ("lone surrogate", fit_path, b'{"timestamps":[1,2,3],"values":[1,2,3],"direction":"\\ud800"}', {400, 422}),
        ("NaN", fit_path, b'{"timestamps":[1,2,3],"values":[1,NaN,3]}', {400, 422}),
        ("Infinity", fit_path, b'{"timestamps":[1,2,3],"values":[1,Infinity,3]}', {400, 422}),
        ("1e999", fit_path, b'{"timestamps":[1,2,3],"values":[1,1e999,3]}', {422}),
        ("-1e999", fit_path, b'{"timestamps":[1,2,3],"values":[1,-1e999,3]}', {422}),
        ("nested 10,000 deep", fit_path, deep, {400, 422}),
        ("900 KB string", fit_path, big_string, {400, 422}),
        ("10 MB body", fit_path, b'{"values":"' + b"x" * 10_000_000 + b'"}', {413}),
        ("top-level array", fit_path, b"[1,2,3]", {400}),
        ("top-level string", fit_path, b'"fit"', {400}),
        ("empty body", fit_path, b"", {400}),
        ("timestamps a string", fit_path, b'{"timestamps":"1,2,3","values":[1,2,3]}', {422}),
        ("timestamps of strings", fit_path, b'{"timestamps":["a","b","c"],"values":[1,2,3]}', {422}),
        ("timestamps floats", fit_path, b'{"timestamps":[1.5,2,3],"values":[1,2,3]}', {422}),
        ("timestamp 2^63", fit_path, b'{"timestamps":[1,2,9223372036854775808],"values":[1,2,3]}', {422}),
        ("values an object", fit_path, b'{"timestamps":[1,2,3],"values":{"a":1}}', {422}),
        ("values of booleans", fit_path, b'{"timestamps":[1,2,3],"values":[true,false,true]}', {422}),
        ("values of null", fit_path, b'{"timestamps":[1,2,3],"values":[null,1,2]}', {422}),
        ("threshold a string", fit_path, b'{"timestamps":[1,2,3],"values":[1,2,3],"threshold":"3"}', {422}),
        ("threshold negative", fit_path, b'{"timestamps":[1,2,3],"values":[1,2,3],"threshold":-3}', {422}),
        ("direction a number", fit_path, b'{"timestamps":[1,2,3],"values":[1,2,3],"direction":5}', {422}),
        ("direction unknown", fit_path, b'{"timestamps":[1,2,3],"values":[1,2,3],"direction":"sideways"}', {422}),
        ("wrong content type", fit_path, None, {415}),
        ("predict timestamp an array", f"/predict/{series}", b'{"timestamp":[],"value":1}', {422}),
        ("predict timestamp words", f"/predict/{series}", b'{"timestamp":"yesterday","value":1}', {422}),
        ("predict timestamp negative", f"/predict/{series}", b'{"timestamp":-1,"value":1}', {422}),
        ("predict value a string", f"/predict/{series}", b'{"timestamp":"1","value":"1"}', {422}),
        ("predict value null", f"/predict/{series}", b'{"timestamp":"1","value":null}', {422}),
        ("predict value 1e999", f"/predict/{series}", b'{"timestamp":"1","value":1e999}', {422}),
        ("predict missing value", f"/predict/{series}", b'{"timestamp":"1"}', {422}),
        ("predict nested deep", f"/predict/{series}", b'{"timestamp":"1","value":' + b"[" * 10_000 + b"]" * 10_000 + b"}", {400, 422}),
        ("batch lengths differ", f"/predict/{series}/batch", b'{"timestamps":[1,2],"values":[1]}', {422}),
        ("batch values of strings", f"/predict/{series}/batch", b'{"timestamps":[1],"values":["x"]}', {422}),
        ("version 0", f"/predict/{series}?version=0", b'{"timestamp":"1","value":1}', {422}),
        ("version huge", f"/predict/{series}?version=99999999999999999999", b'{"timestamp":"1","value":1}', {422}),
        ("version words", f"/predict/{series}?version=latest;DROP", b'{"timestamp":"1","value":1}', {422}),
    ]


HOSTILE_IDS = [
    "温度センサー", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2F..%2Fetc", "%27%3B%20DROP%20TABLE%20series%3B--",
    "a%00b", "x" * 129, "%F0%9F%94%A5", "series%20with%20spaces", "%0d%0aSet-Cookie:%20x",
]


def test_bad_bodies_and_every_wrong_type_are_refused_and_write_nothing(svc, trained):
    cases = body_cases(trained)
    wrong = []
    for name, path, body, accepted in cases:
        port = svc.training.port if path.startswith("/fit") else svc.inference.port
        raw = json_post(path, b'{"timestamps":[1,2,3],"values":[1,2,3]}', content_type="text/plain") if body is None else json_post(path, body)
        status = exchange(port, raw, timeout=20)
        if status not in accepted:
            wrong.append(f"{name}: {status}, expected {sorted(accepted)}")
    REPORT_CASES.append(("training+inference", "bodies", len(cases)))
    assert not wrong, "\n".join(wrong)
    # None of the refused fits made a version.
    assert expect(get(svc.training.port, f"/models/{trained}"))["latest_version"] == "v1"
    still_serving(svc, trained)


def test_hostile_series_ids_are_422_everywhere_and_the_tables_survive(svc, trained):
    wrong = []
    for series in HOSTILE_IDS:
        for port, method, path in ((svc.training.port, "POST", f"/fit/{series}"), (svc.inference.port, "POST", f"/predict/{series}"),
                                   (svc.training.port, "GET", f"/models/{series}"), (svc.monitoring.port, "GET", f"/plot/{series}"),
                                   (svc.monitoring.port, "GET", f"/dashboard/series/{series}"), (svc.monitoring.port, "GET", f"/api/series/{series}")):
            body = b'{"timestamps":[1,2,3],"values":[1,2,3]}' if path.startswith("/fit") else b'{"timestamp":"1","value":1}'
            raw = json_post(path, body) if method == "POST" else head("GET", path)
            status = exchange(port, raw)
            # A raw non-ASCII target is not HTTP (400); every percent-encoded id reaches the id rule (422).
            expected = 400 if not series.isascii() else 422
            if status != expected:
                wrong.append(f"{method} {path[:60]}: {status}, expected {expected}")
    for query in ("q=%27%3B%20DROP%20TABLE%20series%3B--", "q=%25%25%25_", "sort=series_id%3BDROP", "page=-1", "page_size=100000"):
        status = exchange(svc.monitoring.port, head("GET", f"/api/series?{query}"))
        if status not in (200, 422):
            wrong.append(f"/api/series?{query}: {status}")
    REPORT_CASES.append(("all", "series ids and queries", len(HOSTILE_IDS) * 6 + 5))
    assert not wrong, "\n".join(wrong)
    # The SQL-looking ids were data, never SQL: the tables and the trained model are still there.
    assert expect(get(svc.training.port, "/models"))["total"] >= 1
    still_serving(svc, trained)


def test_the_battery_is_counted(svc):
    from service_processes import ROOT
    total = sum(count for _, _, count in REPORT_CASES)
    report = ROOT / ".build" / "artifacts" / "hostile.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{time.strftime('%Y-%m-%d %H:%M')} hostile requests: {total} cases, every one refused with the expected 4xx or closed, services still serving"]
    lines += [f"  {service}: {group} {count}" for service, group, count in REPORT_CASES]
    report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert total >= 150
