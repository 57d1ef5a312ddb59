"""The HTTP server module, exercised through the fixture server with real clients."""
import json
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from rawhttp import RawClient


def get(port, path):
    c = RawClient(port)
    c.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    response = c.read_response()
    c.close()
    return response


def curl(*args):
    out = subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=30)
    return out


# --- real clients -----------------------------------------------------------------------------


def test_curl_get_has_length_date_server(server):
    out = curl("-i", f"http://127.0.0.1:{server.port}/livez")
    assert out.returncode == 0, out.stderr
    head, body = out.stdout.split("\n\n", 1)  # text mode turns CRLF into LF
    assert head.startswith("HTTP/1.1 200 OK")
    assert re.search(r"(?im)^content-length: 15$", head)
    assert re.search(r"(?im)^date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", head)
    assert re.search(r"(?im)^server: anomaly-fixture$", head)
    assert json.loads(body) == {"status": "ok"}


def test_curl_reuses_the_keep_alive_connection(server):
    url = f"http://127.0.0.1:{server.port}/livez"
    out = curl("-v", url, url, url)
    assert out.returncode == 0
    assert out.stderr.count("Re-using existing connection") == 2, out.stderr


def test_python_http_client_keeps_one_connection(server):
    conn = server.connection()
    sockets = set()
    for i in range(20):
        conn.request("POST", f"/items/{i}", body=json.dumps({"i": i}), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 200
        assert payload["parameters"] == {"id": str(i)}
        assert json.loads(payload["body"]) == {"i": i}
        sockets.add(id(conn.sock))
    assert len(sockets) == 1
    conn.close()


def test_python_chunked_upload(server):
    conn = server.connection()
    conn.request("POST", "/echo", body=iter([b"hello ", b"chunked ", b"world"]), encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["body"] == "hello chunked world"
    conn.close()


def test_curl_chunked_and_expect_100_continue(server, tmp_path):
    url = f"http://127.0.0.1:{server.port}/echo"
    out = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "abc" * 1000, url)
    assert json.loads(out.stdout)["bodyLength"] == 3000
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 500_000)
    out = curl("-v", "-H", "Expect: 100-continue", "--data-binary", f"@{big}", url)
    assert "HTTP/1.1 100 Continue" in out.stderr
    assert json.loads(out.stdout)["bodyLength"] == 500_000


def test_wrk_load_has_no_errors(server):
    wrk = shutil.which("wrk")
    assert wrk, "wrk is installed by the Makefile's test dependencies"
    out = subprocess.run([wrk, "-t1", "-c64", "-d2s", f"http://127.0.0.1:{server.port}/livez"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Non-2xx" not in out.stdout and "Socket errors" not in out.stdout, out.stdout
    requests = int(re.search(r"(\d+) requests in", out.stdout).group(1))
    assert requests > 2000, out.stdout


# --- pipelining, HEAD, routing --------------------------------------------------------------


def test_pipelined_requests_are_answered_in_order_across_inline_and_blocking(server):
    c = RawClient(server.port)
    batch = b""
    for i in range(30):
        if i % 3 == 1:  # a blocking route in between inline ones
            body = f'{{"n":{i}}}'.encode()
            batch += f"POST /items/{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        else:
            batch += f"GET /items/{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    c.send(batch)
    ids = [json.loads(c.read_response().body)["parameters"]["id"] for _ in range(30)]
    assert ids == [str(i) for i in range(30)]
    c.close()


def test_a_thousand_pipelined_requests_in_one_write(server):
    c = RawClient(server.port)
    c.send(b"".join(f"GET /items/{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for i in range(1000)))
    for i in range(1000):
        assert json.loads(c.read_response().body)["parameters"]["id"] == str(i)
    c.close()


def test_head_sends_length_without_body(server):
    c = RawClient(server.port)
    c.send(b"HEAD /bytes?n=1000 HTTP/1.1\r\nHost: t\r\n\r\nGET /bytes?n=3 HTTP/1.1\r\nHost: t\r\n\r\n")
    head = c.read_response(head_request=True)
    assert head.status == 200 and head.header("Content-Length") == "1000"
    after = c.read_response()  # would be garbled if HEAD had sent a body
    assert after.body == b"xxx"
    c.close()


def test_wrong_method_is_405_with_allow(server):
    c = RawClient(server.port)
    c.send(b"DELETE /items/7 HTTP/1.1\r\nHost: t\r\n\r\n")
    response = c.read_response()
    assert response.status == 405
    assert set(response.header("Allow").split(", ")) == {"GET", "HEAD", "POST"}
    body = json.loads(response.body)
    assert body["error"] == "method_not_allowed" and "DELETE" in body["message"]
    c.close()


def test_options_lists_allowed_methods(server):
    c = RawClient(server.port)
    c.send(b"OPTIONS /echo HTTP/1.1\r\nHost: t\r\n\r\n")
    response = c.read_response()
    assert response.status == 204
    assert "POST" in response.header("Allow") and "OPTIONS" in response.header("Allow")


def test_unknown_path_is_404_json(server):
    response = get(server.port, "/nowhere")
    assert response.status == 404
    assert json.loads(response.body)["error"] == "not_found"


def test_path_parameters_are_percent_decoded_and_query_parsed(server):
    body = json.loads(get(server.port, "/items/temp%20sensor%2F1?x=1&x=2&name=a+b%21").body)
    assert body["parameters"] == {"id": "temp sensor/1"}
    assert body["query"] == {"x": ["1", "2"], "name": ["a b!"]}


def test_repeated_headers_are_kept_and_names_case_insensitive(server):
    c = RawClient(server.port)
    c.send(b"GET /echo HTTP/1.1\r\nHOST: t\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n")
    headers = json.loads(c.read_response().body)["headers"]
    assert ["X-Dup", "1"] in headers and ["x-dup", "2"] in headers


def test_handler_failure_is_500_json_and_server_keeps_serving(server):
    response = get(server.port, "/crash")
    assert response.status == 500
    assert json.loads(response.body)["error"] == "internal_error"
    assert get(server.port, "/livez").status == 200


# --- keep-alive rules ------------------------------------------------------------------------


def test_connection_close_is_honoured(server):
    c = RawClient(server.port)
    c.send(b"GET /livez HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    response = c.read_response()
    assert response.status == 200 and response.header("Connection") == "close"
    assert c.is_closed_by_peer()


def test_http10_closes_unless_keep_alive(server):
    c = RawClient(server.port)
    c.send(b"GET /livez HTTP/1.0\r\n\r\n")
    assert c.read_response().header("Connection") == "close"
    assert c.is_closed_by_peer()
    c = RawClient(server.port)
    c.send(b"GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert c.read_response().header("Connection") == "keep-alive"
    c.send(b"GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert c.read_response().status == 200


def test_half_closed_client_still_gets_its_answers(server):
    c = RawClient(server.port)
    c.send(b"GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /items/2 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
    c.sock.shutdown(socket.SHUT_WR)
    assert json.loads(c.read_response().body)["parameters"]["id"] == "1"
    assert json.loads(c.read_response().body)["parameters"]["id"] == "2"
    assert c.is_closed_by_peer()


def test_half_close_after_a_blocking_request_still_answers_everything_past_the_high_water_mark(server):
    c = RawClient(server.port, timeout=10)
    batch = b"POST /items/first HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
    batch += b"GET /bytes?n=700000 HTTP/1.1\r\nHost: t\r\n\r\n" * 3 + b"GET /items/last HTTP/1.1\r\nHost: t\r\n\r\n"
    c.send(batch)
    c.sock.shutdown(socket.SHUT_WR)
    assert json.loads(c.read_response().body)["parameters"]["id"] == "first"
    for _ in range(3):
        assert len(c.read_response().body) == 700_000
    assert json.loads(c.read_response().body)["parameters"]["id"] == "last"
    assert c.is_closed_by_peer()


def test_steady_pipelining_is_not_cut_by_the_header_timeout(server):
    """Every write ends in the middle of the next request's head, for longer than the 2 s header timeout."""
    c = RawClient(server.port, timeout=5)
    request = b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n"
    c.send(request[:10])
    answered = 0
    started = time.monotonic()
    while time.monotonic() - started < 3.5:
        c.send(request[10:] + request[:10])
        response = c.read_response()
        assert response.status == 200, response.body
        answered += 1
        time.sleep(0.05)
    assert answered > 20


# --- errors and limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n  folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n", 431),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n", 413),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nnothex\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: tea\r\nContent-Length: 1\r\n\r\nx", 417),
    ],
)
def test_bad_requests_get_the_right_status_then_close(server, request_bytes, status):
    c = RawClient(server.port)
    c.send(request_bytes)
    response = c.read_response()
    assert response.status == status, response.body
    assert response.header("Connection") == "close"
    body = json.loads(response.body)
    assert set(body) >= {"error", "message"}
    assert c.is_closed_by_peer()
    assert get(server.port, "/livez").status == 200


def test_413_is_sent_before_reading_the_body_and_survives_unread_bytes(server):
    c = RawClient(server.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n" + b"z" * 200_000)
    response = c.read_response()
    assert response.status == 413
    assert "exceeds" in json.loads(response.body)["message"]


def test_expect_100_continue_over_raw_socket(server):
    c = RawClient(server.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    interim = c.read_response()
    assert interim.status == 100
    c.send(b"hello")
    final = c.read_response()
    assert final.status == 200 and json.loads(final.body)["body"] == "hello"


def test_byte_at_a_time_request(server):
    c = RawClient(server.port)
    for byte in b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd":
        c.send(bytes([byte]))
        time.sleep(0.001)
    assert json.loads(c.read_response().body)["body"] == "abcd"


# --- timeouts -------------------------------------------------------------------------------


def test_slowloris_is_cut_with_408_while_others_are_served(server):
    c = RawClient(server.port, timeout=10)
    started = time.monotonic()
    c.send(b"GET /livez HTTP/1.1\r\nHost: t\r\n")
    for byte in b"X-Slow: " + b"a" * 30:
        if select.select([c.sock], [], [], 0.3)[0]:
            break  # the server answered
        c.send(bytes([byte]))
        assert get(server.port, "/livez").status == 200  # others unaffected meanwhile
    elapsed = time.monotonic() - started
    response = c.read_response()
    assert response.status == 408
    assert 1.5 <= elapsed < 4.5, elapsed  # header timeout is 2 s in the fixture
    assert c.is_closed_by_peer()


def test_slow_body_is_cut_with_408(server):
    c = RawClient(server.port, timeout=10)
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly-part")
    started = time.monotonic()
    response = c.read_response()
    assert response.status == 408
    assert 2.0 <= time.monotonic() - started < 5.0  # body timeout is 3 s


def test_idle_keep_alive_connection_is_closed_silently(server):
    c = RawClient(server.port, timeout=10)
    c.send(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
    assert c.read_response().status == 200
    started = time.monotonic()
    assert c.is_closed_by_peer(timeout=8)
    assert 3.0 <= time.monotonic() - started < 6.5  # keep-alive idle timeout is 4 s


# --- blocking work ------------------------------------------------------------------------------


def test_slow_blocking_handler_does_not_delay_other_connections(server):
    results = {}

    def slow():
        started = time.monotonic()
        results["slow_status"] = get(server.port, "/slow?ms=3000").status
        results["slow_seconds"] = time.monotonic() - started

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)
    conn = server.connection()
    started = time.monotonic()
    for i in range(100):
        conn.request("GET", "/livez")
        assert conn.getresponse().read() == b'{"status":"ok"}'
        conn.request("POST", f"/items/{i}", body=b"{}")  # a blocking route too
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    fast_seconds = time.monotonic() - started
    # All 200 were answered while the slow handler was still running (not a wall-clock budget: a slow CI
    # machine once took 1.5 s for them, still well inside the slow handler's 3 s).
    slow_still_running = thread.is_alive()
    thread.join()
    print(f"200 requests in {fast_seconds:.2f}s next to a 3 s handler")
    assert results["slow_status"] == 200 and results["slow_seconds"] >= 2.9
    assert slow_still_running, f"200 requests took {fast_seconds:.2f}s: they waited for the 3 s handler"


# --- separate servers: shutdown, caps, services ------------------------------------------------------


def test_graceful_shutdown_finishes_in_flight_request_and_exits_zero(start_server):
    srv = start_server(env={"SHUTDOWN_GRACE_SECONDS": "10"})
    idle = RawClient(srv.port)
    idle.send(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
    assert idle.read_response().status == 200
    busy = RawClient(srv.port, timeout=10)
    busy.send(b"GET /slow?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.3)
    started = time.monotonic()
    srv.process.send_signal(signal.SIGTERM)
    assert idle.is_closed_by_peer(timeout=2), "idle keep-alive connection should be closed at once"
    time.sleep(0.2)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1)
    response = busy.read_response()
    assert response.status == 200 and response.body == b"slept 1500 ms\n"
    assert response.header("Connection") == "close"
    assert srv.process.wait(10) == 0
    assert time.monotonic() - started < 3.0


def test_shutdown_grace_period_bounds_exit_time(start_server):
    srv = start_server(env={"SHUTDOWN_GRACE_SECONDS": "1"})
    busy = RawClient(srv.port, timeout=10)
    busy.send(b"GET /slow?ms=8000 HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.2)
    started = time.monotonic()
    srv.process.send_signal(signal.SIGINT)
    assert srv.process.wait(5) == 0
    assert time.monotonic() - started < 2.5


def test_connection_cap_refuses_with_503(start_server):
    srv = start_server(env={"HTTP_MAX_CONNECTIONS": "5", "HTTP_THREADS": "1"})
    held = []
    for _ in range(5):
        c = RawClient(srv.port)
        c.send(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.read_response().status == 200
        held.append(c)
    extra = RawClient(srv.port)
    response = extra.read_response()
    assert response.status == 503
    assert json.loads(response.body)["error"] == "over_capacity"
    held.pop().close()
    time.sleep(0.2)
    assert get(srv.port, "/livez").status == 200


def test_ten_thousand_idle_connections_do_not_slow_the_others(start_server):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    assert hard >= 10_500, f"need 10,500 file descriptors, have {hard}"
    srv = start_server(env={"HTTP_KEEPALIVE_TIMEOUT_SECONDS": "120", "HTTP_HEADER_TIMEOUT_SECONDS": "120"})

    def latencies(count=2000):
        conn = srv.connection()
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", "/livez")
            conn.getresponse().read()
            samples.append(time.perf_counter() - started)
        conn.close()
        samples.sort()
        return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]

    baseline_p50, baseline_p99 = latencies()
    idle = []
    try:
        for i in range(10_000):
            s = socket.socket()
            s.setblocking(True)
            s.connect(("127.0.0.1", srv.port))
            if i % 2 == 0:  # half have done a request: real keep-alive connections
                s.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
            idle.append(s)
        for s in idle[::2]:
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        # A cost that grows with the idle connections is there in every round; a burst of steal on this
        # shared machine is not (CI once saw one round's p99 at 6.7 ms). So up to three rounds, and one must
        # pass. The median carries the tight bound: a syscall per idle connection per wake-up took it from
        # 0.145 to 1.742 ms while p99 (2.4 ms) stayed under the 5-ms floor that steal makes necessary.
        def within(p50, p99):
            return p50 < 3 * baseline_p50 and p99 < max(5 * baseline_p99, 0.005)

        rounds = []
        for attempt in range(3):
            if attempt:
                time.sleep(1.5)  # past a burst of steal, which the back-to-back rounds (0.3 s each) would share
            rounds.append(latencies())
            if within(*rounds[-1]):
                break
        print(f"\n/livez p50/p99 without idle: {baseline_p50*1e3:.3f}/{baseline_p99*1e3:.3f} ms; with 10,000 idle: "
              + ", ".join(f"{p50*1e3:.3f}/{p99*1e3:.3f} ms" for p50, p99 in rounds))
        assert within(*rounds[-1])
        for s in idle[:100]:  # the idle ones still work
            s.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
            assert b"200 OK" in s.recv(4096)
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_full_blocking_queue_answers_503_with_retry_after_and_recovers(start_server):
    srv = start_server(env={"HTTP_BLOCKING_THREADS": "1", "HTTP_BLOCKING_QUEUE": "1"})
    running, queued, refused = RawClient(srv.port, timeout=10), RawClient(srv.port, timeout=10), RawClient(srv.port)
    running.send(b"GET /slow?ms=1000 HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.2)
    queued.send(b"GET /slow?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.2)
    refused.send(b"GET /slow?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n")
    response = refused.read_response()
    assert response.status == 503 and response.header("Retry-After") == "1"
    assert json.loads(response.body)["error"] == "overloaded"
    assert get(srv.port, "/livez").status == 200  # inline routes are unaffected
    assert running.read_response().status == 200 and queued.read_response().status == 200
    refused.send(b"GET /slow?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert refused.read_response().status == 200


def test_reading_pauses_while_a_blocking_handler_runs(server):
    """Bytes sent behind a running blocking request stay in the kernel (backpressure), not in server memory."""
    c = RawClient(server.port, timeout=10)
    c.send(b"GET /slow?ms=2500 HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.2)
    c.sock.setblocking(False)
    chunk = b"z" * 65536
    sent = 0
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and sent < 64 << 20:
        try:
            sent += c.sock.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
    assert sent < 32 << 20, f"{sent} bytes were accepted while the handler ran: the server kept reading"
    c.sock.setblocking(True)
    assert c.read_response().status == 200


def test_read_hooks_run_after_each_request_is_received_and_before_it_is_handled(server):
    """The predict path skips its own read of the model-update subscription because the loop runs the router's
    afterReads hooks between receiving a request and handling it; one at a time, pipelined and trickled."""
    c = RawClient(server.port)
    answers = []
    for _ in range(5):
        c.send(b"GET /read-hook HTTP/1.1\r\nHost: t\r\n\r\n")
        answers.append(json.loads(c.read_response().body))
    c.send(b"GET /read-hook HTTP/1.1\r\nHost: t\r\n\r\n" * 10)
    answers += [json.loads(c.read_response().body) for _ in range(10)]
    for byte in b"GET /read-hook HTTP/1.1\r\nHost: t\r\n\r\n":
        c.send(bytes([byte]))
    answers.append(json.loads(c.read_response().body))
    c.close()
    assert all(a["received_at"] > 0 and a["hook_ran_at"] > a["received_at"] for a in answers), answers
