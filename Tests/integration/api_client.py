"""A tiny JSON-over-HTTP client and the assertions the integration tests share."""
import http.client
import json
import math
import re
import time
import uuid
from datetime import datetime

BASE_TS = 1_600_000_000


class Resp:
    """One HTTP response. Unpacks as (status, headers, json) for the common case."""

    def __init__(self, method, path, status, headers, body: bytes, elapsed: float):
        self.method, self.path = method, path
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body
        self.elapsed = elapsed
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self):
        text = self.text
        if len(text) > 2000:
            text = text[:2000] + f"... ({len(self.body)} bytes)"
        return f"<{self.method} {self.path} -> {self.status} {text!r}>"


def request(port, method, path, body=None, headers=None, timeout=10.0) -> Resp:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return Resp(method, path, response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                    time.monotonic() - started)
    finally:
        connection.close()


def post(port, path, obj=None, content_type="application/json", timeout=10.0) -> Resp:
    """POSTs obj as JSON, or bytes/str as they are."""
    if isinstance(obj, bytes):
        body = obj
    elif isinstance(obj, str):
        body = obj.encode()
    else:
        body = json.dumps(obj, allow_nan=False).encode()
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return request(port, "POST", path, body=body, headers=headers, timeout=timeout)


def get(port, path, timeout=10.0) -> Resp:
    return request(port, "GET", path, timeout=timeout)


def new_series_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def timestamps(n, start=BASE_TS, step=60):
    return [start + step * i for i in range(n)]


def expect(resp: Resp, status=200) -> dict:
    assert resp.status == status, f"expected {status}, got {resp!r}"
    return resp.json


def expect_error(resp: Resp, status, field=None, fields=None):
    """Checks the one error shape: {"error": code, "message": text, "field": name?}."""
    if isinstance(status, int):
        status = (status,)
    assert resp.status in status, f"expected {status}, got {resp!r}"
    body = resp.json
    assert isinstance(body, dict), f"error body is not a JSON object: {resp!r}"
    assert isinstance(body.get("error"), str) and body["error"], f"no error code: {resp!r}"
    assert isinstance(body.get("message"), str) and body["message"], f"no message: {resp!r}"
    if "field" in body:
        assert body["field"] is None or isinstance(body["field"], str), f"bad field: {resp!r}"
    if field is not None:
        assert body.get("field") == field, f"expected field {field!r}, got {body.get('field')!r}: {resp!r}"
    if fields is not None:
        assert body.get("field") in fields, f"expected field in {fields!r}, got {body.get('field')!r}: {resp!r}"
    return body


def fit(port, series_id, ts, values, **extra) -> dict:
    body = {"timestamps": list(ts), "values": list(values), **extra}
    return expect(post(port, f"/fit/{series_id}", body))


def predict(port, series_id, value, timestamp=BASE_TS + 10**6, version=None) -> dict:
    path = f"/predict/{series_id}" + (f"?version={version}" if version is not None else "")
    return expect(post(port, path, {"timestamp": str(timestamp), "value": value}))


def close(a, b, rel=1e-9, abs_tol=0.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def assert_close(actual, expected, rel=1e-9, abs_tol=0.0, what="value", context=None):
    assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{what} is not a number: {actual!r} {context or ''}"
    assert close(actual, expected, rel, abs_tol), (
        f"{what}: service {actual!r} vs expected {expected!r} (rel diff "
        f"{abs(actual - expected) / max(abs(expected), 1e-300):.3g}) {context or ''}")


def version_number(version: str) -> int:
    match = re.fullmatch(r"v([1-9][0-9]*)", version or "")
    assert match, f"not a version like v3: {version!r}"
    return int(match.group(1))


def poll(check, timeout, interval=0.2, message="condition"):
    """Calls check() -> (done, info) until done; returns info, or fails showing the last info."""
    deadline = time.monotonic() + timeout
    while True:
        done, info = check()
        if done:
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout}s; last: {info!r}")
        time.sleep(interval)


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def instant(rfc3339: str) -> float:
    text = rfc3339.replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # fromisoformat takes at most 6 fractional digits
        head, rest = text.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    return datetime.fromisoformat(text).timestamp()
