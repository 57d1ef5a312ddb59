"""Faults under load: Redis killed, Postgres killed, training SIGKILLed mid-fit, SIGTERM mid-load.

Each test drives the services with the load-test tool (or, where every acknowledged write must be
counted, with fitting threads of its own), injects the fault, and reports requests sent, errors by
kind, time to recover and acknowledged writes lost, which must be 0.
"""
import http.client
import json
import random
import socket
import subprocess
import threading
import time
from collections import Counter

from service_processes import ROOT, bin_dir

REPORT = ROOT / ".build" / "artifacts" / "chaos.txt"


def report(fault, **figures):
    line = f"{time.strftime('%Y-%m-%d %H:%M')} {fault}: " + "; ".join(f"{key.replace('_', ' ')} {value}" for key, value in figures.items())
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as out:
        out.write(line + "\n")
    print(line)


def call(port, method, path, body=None, timeout=10.0):
    """(status, headers, json or None, seconds); OSError propagates."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = connection.getresponse()
        payload = response.read()
        elapsed = time.monotonic() - started
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed, elapsed
    finally:
        connection.close()


def wait_until(check, timeout, step=0.1):
    """Seconds until check() held; fails after timeout."""
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except (OSError, ValueError, KeyError, TypeError):
            pass
        assert time.monotonic() - started < timeout, f"not recovered within {timeout}s"
        time.sleep(step)


# The fault tests offer 2,000 requests/s for 14 s; at least this many must have been sent for the outage to
# have been under load (over a quarter of what is offered: CI machines can be several times slower).
MIN_REQUESTS_UNDER_LOAD = 8_000


def fit_body(points, seed):
    rng = random.Random(seed)
    return {"timestamps": list(range(1_700_000_000, 1_700_000_000 + points * 60, 60)),
            "values": [50 + rng.gauss(0, 5) for _ in range(points)]}


class Load:
    """anomaly-loadtest in the background at a fixed rate; result() waits and returns its JSON summary."""

    def __init__(self, stack, series, seconds, rate, fit_ratio=0.0, connections=16):
        self.seconds = seconds
        command = [str(bin_dir() / "anomaly-loadtest"),
                   "--training-url", f"http://127.0.0.1:{stack.training.port}",
                   "--inference-url", f"http://127.0.0.1:{stack.inference.port}",
                   "--series", series, "--duration", str(seconds), "--rate", str(rate),
                   "--connections", str(connections), "--fit-ratio", str(fit_ratio),
                   "--timeout", "5", "--json", "--quiet"]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # the tool's initial fit, then the clock starts

    def result(self):
        out, err = self.proc.communicate(timeout=self.seconds + 60)
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError(f"anomaly-loadtest exited {self.proc.returncode} without a summary:\n{err[-3000:]}")


def errors_by_kind(summary):
    errors = summary["errors"]
    kinds = {f"HTTP {code}": count for code, count in errors["status"].items()}
    kinds.update(errors["socket_by_kind"])
    if errors["timeouts"]:
        kinds["timeout"] = errors["timeouts"]
    return kinds or "none"


def health(port):
    return call(port, "GET", "/healthcheck", timeout=2)[2]


def test_redis_killed_and_restarted_under_load(stack):
    inference, training = stack.inference.port, stack.training.port
    load = Load(stack, "chaos-redis", seconds=14, rate=2000, fit_ratio=0.01)
    time.sleep(3)
    stack.redis.kill()
    time.sleep(4)
    stack.redis.start()
    recovery = wait_until(lambda: health(inference)["redis"]["state"] == "up" and health(inference)["redis"]["subscribed"], timeout=20)
    summary = load.result()

    # Read-your-writes after recovery: every fit's answer is what the next predict uses.
    for round_number in range(20):
        status, _, fitted, _ = call(training, "POST", "/fit/chaos-redis-ryw", fit_body(20, round_number))
        assert status == 200, fitted
        status, _, answer, _ = call(inference, "POST", "/predict/chaos-redis-ryw", {"timestamp": "1700009999", "value": 50})
        assert status == 200 and answer["model_version"] == fitted["version"], (fitted, answer)

    requests, errors = summary["requests"], summary["errors"]["total"]
    # Every fit the tool saw answered 200 (plus its initial fit) is a version in Postgres. The tool counts
    # successes over all kinds, so this is a lower bound: unanswered or failed requests are taken as fits.
    unanswered = summary["requests"] - summary["responses"] + sum(summary["errors"]["status"].values())
    acknowledged = summary["fits"] - unanswered + 1
    stored = int(stack.pg.psql("SELECT count(*) FROM model_versions WHERE series_id = 'chaos-redis'"))
    lost = max(0, acknowledged - stored)
    report("Redis killed 4 s under load", requests_sent=requests, predicts=summary["predicts"], fits=summary["fits"],
           errors=f"{errors} ({errors_by_kind(summary)})", subscription_back_after=f"{recovery:.2f} s after restart",
           read_your_writes_after_recovery="20/20", fits_acknowledged=acknowledged, versions_stored=stored,
           acknowledged_writes_lost=lost)
    assert lost == 0, (acknowledged, stored)
    # Load really ran through the outage (2,000/s offered for 14 s). Not a throughput test: one slow CI
    # machine sent 10,308 (the reference instances' p99 there was 98-1,612 ms).
    assert requests >= MIN_REQUESTS_UNDER_LOAD, summary
    assert errors <= requests * 0.001, f"{errors} errors in {requests} requests: {errors_by_kind(summary)}"


def test_redis_down_predicts_at_full_speed_all_answer(stack):
    """With Redis down, inference cannot trust its memory for the latest version and reads it from Postgres
    per predict, through a pool of DB_POOL_SIZE connections. At the tool's full speed over 256 connections
    (far more than the pool), every predict must still be answered 200: slower, never refused."""
    inference, training = stack.inference.port, stack.training.port
    status, _, fitted, _ = call(training, "POST", "/fit/chaos-redis-down-speed", fit_body(50, 1))
    assert status == 200, fitted
    stack.redis.kill()
    wait_until(lambda: not health(inference)["redis"]["subscribed"], timeout=10)
    command = [str(bin_dir() / "anomaly-loadtest"), "--no-train",
               "--training-url", f"http://127.0.0.1:{training}", "--inference-url", f"http://127.0.0.1:{inference}",
               "--series", "chaos-redis-down-speed", "--duration", "5", "--connections", "256",
               "--timeout", "5", "--json", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    summary = json.loads(done.stdout)
    requests, errors = summary["requests"], summary["errors"]["total"]
    report("Redis down, predicts at full speed (256 connections, every latest read from Postgres)",
           requests_sent=requests, requests_per_second=round(summary["requests_per_second"]),
           p99_ms=summary["latency_ms"]["p99"], errors=f"{errors} ({errors_by_kind(summary)})")
    assert errors == 0 and summary["status_counts"] == {"200": requests}, summary
    assert requests >= 1_000, summary  # it really ran (about 15,000/s on the 2-CPU development machine)


def test_postgres_killed_and_restarted_under_load(stack):
    inference, training = stack.inference.port, stack.training.port
    load = Load(stack, "chaos-pg", seconds=14, rate=2000)
    fits, stop, acknowledged = [], threading.Event(), set()

    def fitter():
        seed = 0
        while not stop.is_set():
            seed += 1
            started = time.monotonic()
            try:
                status, headers, body, elapsed = call(training, "POST", "/fit/chaos-pg-fits", fit_body(50, seed), timeout=15)
                fits.append((started, status, elapsed, headers.get("retry-after")))
                if status == 200:
                    acknowledged.add(int(body["version"][1:]))
            except OSError as error:
                fits.append((started, type(error).__name__, time.monotonic() - started, None))
            time.sleep(0.1)

    thread = threading.Thread(target=fitter, daemon=True)
    thread.start()
    time.sleep(3)
    down = time.monotonic()
    stack.pg.kill()
    time.sleep(5)
    stack.pg.start()
    up = time.monotonic()
    recovery = wait_until(lambda: any(started > up and status == 200 for started, status, _, _ in fits), timeout=30)
    stop.set()
    thread.join(20)
    summary = load.result()

    during = [f for f in fits if down + 0.5 < f[0] < up - 0.2]
    refused = [f for f in during if f[1] == 503 and f[3]]
    slowest = max(f[2] for f in during)
    requests, errors = summary["requests"], summary["errors"]["total"]
    stored = {int(v) for v in stack.pg.psql("SELECT version FROM model_versions WHERE series_id = 'chaos-pg-fits'").split()}
    lost = acknowledged - stored
    report("Postgres killed 5 s under load", requests_sent=requests, predict_errors=f"{errors} ({errors_by_kind(summary)})",
           fits_during_outage=f"{len(during)}, {len(refused)} answered 503 with Retry-After, slowest {slowest:.2f} s",
           fits_ok_again_after=f"{recovery:.2f} s after restart", fits_acknowledged=len(acknowledged), acknowledged_writes_lost=len(lost))
    assert not lost, sorted(lost)
    assert requests >= MIN_REQUESTS_UNDER_LOAD, summary
    assert errors <= requests * 0.001, f"predicts of a cached model failed: {errors_by_kind(summary)}"
    assert during and len(refused) == len(during), f"fits during the outage: {during}"
    assert slowest < 5.0, "a fit hung while Postgres was down"


def test_training_sigkilled_mid_fits_loses_no_acknowledged_fit(stack):
    training = stack.training.port
    acknowledged, failures, stop, lock = set(), Counter(), threading.Event(), threading.Lock()

    def worker(number):
        rng = random.Random(number)
        while not stop.is_set():
            series = f"chaos-kill-{rng.randrange(12)}"
            try:
                status, _, body, _ = call(training, "POST", f"/fit/{series}", fit_body(500, rng.random()), timeout=15)
                with lock:
                    if status == 200:
                        acknowledged.add((series, int(body["version"][1:])))
                    else:
                        failures[f"HTTP {status}"] += 1
            except OSError as error:
                with lock:
                    failures[type(error).__name__] += 1
                time.sleep(0.02)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(2.5)
    before_kill = len(acknowledged)
    stack.training.kill()  # SIGKILL: no shutdown, transactions in flight are cut off
    time.sleep(1)
    restarted = time.monotonic()
    stack.training.start()
    recovery = time.monotonic() - restarted
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(20)

    rows = stack.pg.psql("SELECT series_id || ' ' || version FROM model_versions WHERE series_id LIKE 'chaos-kill-%'")
    stored = {(line.split()[0], int(line.split()[1])) for line in rows.splitlines() if line}
    lost = acknowledged - stored
    half_written = int(stack.pg.psql(
        "SELECT count(*) FROM model_versions mv LEFT JOIN training_data td USING (series_id, version) "
        "WHERE mv.series_id LIKE 'chaos-kill-%' AND (td.series_id IS NULL OR cardinality(td.\"values\") <> mv.points_used "
        "OR cardinality(td.timestamps) <> mv.points_used)"))
    gaps = stack.pg.psql(
        "SELECT series_id FROM model_versions WHERE series_id LIKE 'chaos-kill-%' GROUP BY series_id "
        "HAVING count(*) <> max(version) OR min(version) <> 1")
    pointers = stack.pg.psql(
        "SELECT s.series_id FROM series s JOIN (SELECT series_id, max(version) AS v FROM model_versions GROUP BY series_id) m "
        "USING (series_id) WHERE s.series_id LIKE 'chaos-kill-%' AND s.latest_version <> m.v")
    report("training SIGKILLed mid-fits", fits_acknowledged=f"{len(acknowledged)} ({before_kill} before the kill)",
           failed=dict(failures) or "none", restart_to_ready=f"{recovery:.2f} s", stored=len(stored),
           acknowledged_writes_lost=len(lost), half_written_versions=half_written)
    assert before_kill >= 10 and len(acknowledged) > before_kill, "fits did not run before and after the kill"
    assert not lost, f"acknowledged fits missing after the crash: {sorted(lost)[:10]}"
    assert half_written == 0 and not gaps and not pointers, (half_written, gaps, pointers)


def test_sigterm_mid_load_finishes_in_flight_flushes_the_log_and_exits_0(stack):
    inference, training = stack.inference.port, stack.training.port
    load = Load(stack, "chaos-term", seconds=8, rate=3000)
    time.sleep(3)

    # Inference: SIGTERM under load.
    started = time.monotonic()
    inference_code = stack.inference.stop(timeout=15, expect_code=None)
    inference_exit = time.monotonic() - started
    summary = load.result()
    recorded = int(stack.pg.psql("SELECT coalesce(sum(count), 0) FROM prediction_batches WHERE series_id = 'chaos-term'"))
    answered = summary["successful"] - 1 if summary["fits"] else summary["successful"]

    # Training: SIGTERM while a large fit is half received.
    payload = json.dumps(fit_body(200_000, 7)).encode()
    big, sending = {}, threading.Event()

    def big_fit():
        with socket.create_connection(("127.0.0.1", training), timeout=30) as sock:
            head = f"POST /fit/chaos-term-big HTTP/1.1\r\nHost: chaos\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            sock.sendall(head.encode() + payload[:len(payload) // 2])
            sending.set()
            time.sleep(0.3)  # the SIGTERM lands here, with half of the body on the wire
            sock.sendall(payload[len(payload) // 2:])
            response = http.client.HTTPResponse(sock)
            response.begin()
            big["answer"] = (response.status, json.loads(response.read()))

    thread = threading.Thread(target=big_fit)
    thread.start()
    assert sending.wait(10)
    time.sleep(0.1)
    training_code = stack.training.stop(timeout=15, expect_code=None)
    thread.join(30)
    status, body = big["answer"]
    stack.training.start()
    stored = call(training, "GET", "/models/chaos-term-big")

    report("SIGTERM mid-load", requests_sent=summary["requests"], predicts_answered=answered,
           predictions_in_the_log=recorded, errors=f"{summary['errors']['total']} after the stop ({errors_by_kind(summary)})",
           inference_exit=f"{inference_code} after {inference_exit:.2f} s", training_exit=f"{training_code}",
           fit_in_flight=f"HTTP {status}", acknowledged_writes_lost=0 if stored[0] == 200 and recorded >= answered else "SOME")
    assert inference_code == 0 and inference_exit < 10, (inference_code, inference_exit)
    assert answered >= 5_000, summary
    # Every answered predict is in the log; at most the few cut off on the wire are there unanswered.
    assert answered <= recorded <= answered + 16, (answered, recorded)
    assert training_code == 0
    assert status == 200 and body["points_used"] == 200_000, body
    assert stored[0] == 200 and stored[2]["latest_version"] == body["version"], stored
