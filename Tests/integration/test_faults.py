"""Redis and Postgres taken away (killed, or hung with SIGSTOP) and given back.

Runs last (see conftest); every test leaves both running again, whatever happens.
"""
import contextlib
import http.client
import json
import threading
import time

import pytest

from api_client import expect, expect_error, fit, get, new_series_id, poll, post, predict, timestamps


@pytest.fixture(scope="module")
def svc(make_services):
    return make_services()


@pytest.fixture(autouse=True)
def restore_stores(svc, pg, redis):
    yield
    pg.resume()
    redis.resume()
    if not redis.running:
        redis.start()
    if not pg.running:
        pg.start()
    for service in (svc.training, svc.inference):  # the next test starts from a ready system
        if service.running:
            service.wait_ready(timeout=20)


def values_around(center):
    return [center - 3.0, center + 3.0, center - 3.0, center + 3.0]


def timed_post(port, path, obj, timeout=15.0):
    """(seconds, response) where the response may be the exception when nothing came back in time."""
    started = time.monotonic()
    try:
        resp = post(port, path, obj, timeout=timeout)
    except OSError as error:  # socket.timeout included
        resp = error
    return time.monotonic() - started, resp


def answered(elapsed, resp, status, within):
    assert not isinstance(resp, Exception), f"no answer: {resp!r} after {elapsed:.1f}s (wanted {status} within {within}s)"
    assert resp.status == status, f"wanted {status}, got {resp!r} after {elapsed:.2f}s"
    assert elapsed < within, f"{resp!r} took {elapsed:.2f}s (limit {within}s)"
    return resp.json


def status_of(port):
    resp = get(port, "/healthcheck")
    return (resp.json or {}).get("status"), resp


def wait_status(port, wanted, timeout, name):
    def check():
        status, resp = status_of(port)
        return status in wanted, resp
    return poll(check, timeout=timeout, interval=0.25, message=f"{name} /healthcheck status in {wanted}")


def test_redis_down_predicts_and_fits_still_work_then_recover(svc, redis):
    cached, uncached = new_series_id("redis-cached"), new_series_id("redis-uncached")
    fit(svc.training.port, cached, timestamps(4), values_around(10))
    fit(svc.training.port, uncached, timestamps(4), values_around(20))
    assert predict(svc.inference.port, cached, 10.0)["model_version"] == "v1"  # now cached in the process

    redis.kill()

    body = predict(svc.inference.port, cached, 10.0)
    assert body["model_version"] == "v1" and body["z_score"] == 0.0, body
    body = predict(svc.inference.port, uncached, 23.0)
    assert body["model_version"] == "v1" and body["z_score"] == 1.0, body
    wait_status(svc.inference.port, {"degraded"}, 5, "inference")
    poll(lambda: ((r := get(svc.inference.port, "/readyz")).status == 503, r), timeout=5,
         message="inference /readyz 503 without Redis")
    assert get(svc.inference.port, "/livez").status == 200

    # Postgres is the truth: fits go on
    during = fit(svc.training.port, cached, timestamps(4), values_around(30))
    assert during["version"] == "v2", during
    first_time = fit(svc.training.port, new_series_id("redis-new"), timestamps(4), values_around(1))
    assert first_time["version"] == "v1", first_time

    # an inference process started while Redis is down serves from Postgres
    late = svc.start("inference", name="inference-without-redis", wait_for="/livez")
    try:
        assert predict(late.port, uncached, 20.0)["model_version"] == "v1"
        assert predict(late.port, cached, 30.0)["model_version"] == "v2"
    finally:
        late.stop()

    redis.start()

    for service in (svc.inference, svc.training):
        wait_status(service.port, {"ok"}, 10, service.name)
    # Redis came back empty: the fits acknowledged during the outage are published to it again
    poll(lambda: (redis.get(f"ad:latest:{cached}") == "2", redis.get(f"ad:latest:{cached}")), timeout=10,
         message="the latest pointer of the fit made during the outage in Redis")
    assert json.loads(redis.get(f"ad:model:{cached}:2"))["version"] == 2
    # the fit made during the outage must not be hidden behind a stale cache
    body = predict(svc.inference.port, cached, 30.0)
    assert body["model_version"] == "v2" and body["z_score"] == 0.0, f"after Redis came back: {body!r}"
    # read-your-writes again
    for k in range(3, 6):
        fitted = fit(svc.training.port, cached, timestamps(4), values_around(100 * k))
        assert fitted["version"] == f"v{k}", fitted
        body = predict(svc.inference.port, cached, 100.0 * k)
        assert body["model_version"] == f"v{k}" and body["z_score"] == 0.0, body


def logged_count(pg, sid, ts):
    return int(pg.psql(f"SELECT count(*) FROM predictions WHERE series_id = '{sid}' AND ts = {ts}"))


def assert_logged_once(svc, pg, sid, ts):
    """The prediction of `sid` at timestamp `ts` reaches the log exactly once. It was made while Postgres was
    away, so no write of it was committed before: it is sent again once Postgres is back, unless the commit that
    got no answer was applied after all, which the writer asks Postgres (`pg_xact_status`) before sending again.
    """
    poll(lambda: (logged_count(pg, sid, ts) >= 1, None), timeout=15, interval=0.25, message=f"the prediction of {sid} at {ts} in the log")
    poll(lambda: (get(svc.inference.port, "/healthcheck").json["prediction_log"]["pending"] == 0, None), timeout=15, interval=0.25,
         message="the prediction log caught up")
    assert logged_count(pg, sid, ts) == 1


@contextlib.contextmanager
def commits_held(pg, table, sid, seconds, events="INSERT", only_first=False):
    """A deferred constraint trigger that holds at commit, for `seconds`, each transaction (or only the first)
    writing rows of series `sid` to `table`: a commit the client gives up on while the server still applies it.
    Yields the name of the sequence that counts, when `only_first`, the rows of `sid` written."""
    name = f"test_held_{table}"
    hold = (f"IF nextval('{name}') = 1 THEN PERFORM pg_sleep({seconds}); END IF;" if only_first
            else f"PERFORM pg_sleep({seconds});")
    pg.psql(f"""
        CREATE SEQUENCE {name};
        CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.series_id = '{sid}' THEN {hold} END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {name}();""")
    try:
        yield name
    finally:
        pg.psql(f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}(); DROP SEQUENCE IF EXISTS {name};")


def test_postgres_down_cached_predicts_work_fits_503_then_recover(svc, pg):
    sid = new_series_id("pg-down")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    assert predict(svc.inference.port, sid, 13.0)["model_version"] == "v1"  # cached
    trained = get(svc.training.port, "/healthcheck").json["series_trained"]
    assert trained >= 1

    pg.kill()

    body = predict(svc.inference.port, sid, 13.0, timestamp=1_234_567)
    assert body["model_version"] == "v1" and body["z_score"] == 1.0, body

    started = time.monotonic()
    resp = post(svc.training.port, f"/fit/{sid}", {"timestamps": timestamps(4), "values": values_around(20)}, timeout=15)
    elapsed = time.monotonic() - started
    expect_error(resp, 503)
    assert elapsed < 5.0, f"the 503 took {elapsed:.2f}s"
    retry_after = resp.headers.get("retry-after", "")
    assert retry_after.isdigit(), f"503 without a numeric Retry-After: {resp.headers}"

    unknown = post(svc.inference.port, f"/predict/{new_series_id('pg-never')}", {"timestamp": "1", "value": 1.0})
    expect_error(unknown, (404, 503))  # an unknown series cannot be told from one not yet loaded
    if unknown.status == 503:
        assert "retry-after" in unknown.headers, unknown.headers

    health = wait_status(svc.training.port, {"degraded", "down"}, 5, "training").json
    assert health.get("series_trained") == trained, f"the contract's field, the last count, through the outage: {health}"
    poll(lambda: ((r := get(svc.training.port, "/readyz")).status == 503, r), timeout=5,
         message="training /readyz 503 without Postgres")
    assert get(svc.training.port, "/livez").status == 200

    pg.start()

    def fit_again():
        r = post(svc.training.port, f"/fit/{sid}", {"timestamps": timestamps(4), "values": values_around(40)}, timeout=10)
        assert r.status in (200, 503), f"while Postgres comes back: {r!r}"
        return r.status == 200, r

    started = time.monotonic()
    recovered = poll(fit_again, timeout=15, interval=0.5, message="a fit succeeding after Postgres restarted")
    assert recovered.json["version"] == "v2", f"the failed fit must not use up a version: {recovered!r}"
    print(f"fit recovered {time.monotonic() - started:.1f}s after Postgres restarted")
    body = predict(svc.inference.port, sid, 40.0)
    assert body["model_version"] == "v2" and body["z_score"] == 0.0, body
    for service in (svc.training, svc.inference):
        wait_status(service.port, {"ok"}, 10, service.name)
    # The log's open write died with Postgres; what it held, and the prediction made while it was down, is
    # sent again.
    assert_logged_once(svc, pg, sid, 1_234_567)


def test_both_down_a_cached_model_still_answers_from_memory(svc, pg, redis):
    sid = new_series_id("both-down")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    fit(svc.training.port, sid, timestamps(4), values_around(50))
    assert predict(svc.inference.port, sid, 53.0)["model_version"] == "v2"  # cached in the process

    redis.kill()
    pg.kill()

    # The subscription is gone, so memory is no longer known to be current; neither store can say more.
    # The newest version the process holds answers, rather than a 503.
    for _ in range(20):
        body = predict(svc.inference.port, sid, 53.0)
        assert body["model_version"] == "v2" and body["z_score"] == 1.0, body
    pinned = post(svc.inference.port, f"/predict/{sid}?version=v2", {"timestamp": "1", "value": 47.0})
    assert pinned.status == 200 and pinned.json["z_score"] == -1.0, pinned
    unknown = post(svc.inference.port, f"/predict/{new_series_id('both-never')}", {"timestamp": "1", "value": 1.0})
    expect_error(unknown, 503)
    assert "retry-after" in unknown.headers, unknown.headers


def test_read_your_writes_holds_while_redis_is_down(svc, redis):
    sid = new_series_id("redis-down-ryw")
    fit(svc.training.port, sid, timestamps(4), values_around(0))
    assert predict(svc.inference.port, sid, 0.0)["model_version"] == "v1"  # cached in the process
    redis.kill()
    for k in range(2, 5):
        fitted = fit(svc.training.port, sid, timestamps(4), values_around(100 * k))
        assert fitted["version"] == f"v{k}", fitted
        body = predict(svc.inference.port, sid, 100.0 * k)
        assert body["model_version"] == f"v{k}", f"Redis down: predict after the fit of v{k} used {body!r}"


def test_read_your_writes_holds_while_redis_refuses_writes(svc, redis):
    """Out of memory under maxmemory: Redis answers (PING, GET, PUBLISH) but refuses every write, so inference's
    subscription stays healthy and its memory trusted. The fit's announcement must still reach it."""
    sid = new_series_id("redis-oom")
    fit(svc.training.port, sid, timestamps(4), values_around(0))
    assert predict(svc.inference.port, sid, 0.0)["model_version"] == "v1"  # the latest, held in memory
    assert redis.command("CONFIG", "SET", "maxmemory", "1") == "+OK"
    try:
        assert redis.command("SET", "ad:probe", "x").startswith("-OOM"), "the premise: Redis refuses writes"
        for k in range(2, 5):
            fitted = fit(svc.training.port, sid, timestamps(4), values_around(100 * k))
            assert fitted["version"] == f"v{k}", fitted
            body = predict(svc.inference.port, sid, 100.0 * k)
            assert body["model_version"] == f"v{k}" and body["z_score"] == 0.0, f"Redis refusing writes: predict after the fit of v{k} used {body!r}"
        assert redis.get(f"ad:latest:{sid}") == "1", "Redis took a write it should have refused"
        health = get(svc.training.port, "/healthcheck").json
        assert health["status"] == "degraded" and health["unpublished_fits"] >= 1, health
    finally:
        redis.command("CONFIG", "SET", "maxmemory", "0")
    # once Redis takes writes again, the fits it refused are stored and health is ok again
    poll(lambda: ((latest := redis.get(f"ad:latest:{sid}")) == "4", latest), timeout=10,
         message="the refused fits stored in Redis once it takes writes")
    assert json.loads(redis.get(f"ad:model:{sid}:3"))["version"] == 3
    wait_status(svc.training.port, {"ok"}, 10, "training")


def test_read_your_writes_holds_after_redis_dropped_the_pooled_connections(svc, redis):
    """Redis closed training's idle connections (its client `timeout`, CLIENT KILL) and nothing else: the
    subscriptions (type pubsub) live on, so inference trusts its memory. The fit must publish anyway."""
    sid, other = new_series_id("redis-client-kill"), new_series_id("redis-client-kill-other")
    fit(svc.training.port, sid, timestamps(4), values_around(0))
    assert predict(svc.inference.port, sid, 0.0)["model_version"] == "v1"  # the latest, held in memory
    for k in range(2, 5):
        fit(svc.training.port, other, timestamps(4), values_around(k))  # leaves a connection idle in training's pool
        killed = redis.command("CLIENT", "KILL", "TYPE", "normal")
        assert killed.startswith(":") and int(killed[1:]) >= 1, f"CLIENT KILL: {killed}"
        fitted = fit(svc.training.port, sid, timestamps(4), values_around(100 * k))
        assert fitted["version"] == f"v{k}", fitted
        body = predict(svc.inference.port, sid, 100.0 * k)
        assert body["model_version"] == f"v{k}" and body["z_score"] == 0.0, f"pooled connections dropped: predict after the fit of v{k} used {body!r}"
    assert get(svc.training.port, "/healthcheck").json["unpublished_fits"] == 0


def test_redis_hung_predicts_and_fits_answer_in_time_and_stay_consistent(svc, redis):
    """SIGSTOPped Redis: connections open, nothing answers. Limits: a predict within 2 s, a fit within 5 s."""
    cached, uncached = new_series_id("redis-hung-cached"), new_series_id("redis-hung-uncached")
    fit(svc.training.port, cached, timestamps(4), values_around(10))
    fit(svc.training.port, uncached, timestamps(4), values_around(20))
    assert predict(svc.inference.port, cached, 10.0)["model_version"] == "v1"

    redis.pause()

    body = answered(*timed_post(svc.inference.port, f"/predict/{cached}", {"timestamp": "1", "value": 13.0}), 200, 2.0)
    assert body["model_version"] == "v1" and body["z_score"] == 1.0, body
    body = answered(*timed_post(svc.inference.port, f"/predict/{uncached}", {"timestamp": "1", "value": 23.0}), 200, 2.0)
    assert body["model_version"] == "v1" and body["z_score"] == 1.0, body
    fitted = answered(*timed_post(svc.training.port, f"/fit/{cached}",
                                  {"timestamps": timestamps(4), "values": values_around(50)}), 200, 5.0)
    assert fitted["version"] == "v2", fitted
    body = answered(*timed_post(svc.inference.port, f"/predict/{cached}", {"timestamp": "1", "value": 50.0}), 200, 2.0)
    assert body["model_version"] == "v2", f"Redis hung: predict after the fit of v2 used {body!r}"
    wait_status(svc.inference.port, {"degraded"}, 8, "inference")

    redis.resume()

    for service in (svc.inference, svc.training):
        wait_status(service.port, {"ok"}, 10, service.name)
    body = predict(svc.inference.port, cached, 50.0)
    assert body["model_version"] == "v2" and body["z_score"] == 0.0, body


def test_postgres_hung_fit_answers_503_in_time_then_recovers(svc, pg):
    """SIGSTOPped Postgres: the pooled connections stay open and nothing answers, so only the
    service's own timeouts can turn a fit into a 503 (limit 5 s, like a dead Postgres)."""
    sid = new_series_id("pg-hung")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    assert predict(svc.inference.port, sid, 13.0)["model_version"] == "v1"

    pg.pause()
    try:
        body = answered(*timed_post(svc.inference.port, f"/predict/{sid}", {"timestamp": "1", "value": 13.0}), 200, 2.0)
        assert body["model_version"] == "v1" and body["z_score"] == 1.0, body
        elapsed, resp = timed_post(svc.training.port, f"/fit/{sid}", {"timestamps": timestamps(4), "values": values_around(20)})
        answered(elapsed, resp, 503, 5.0)
        expect_error(resp, 503)
        assert resp.headers.get("retry-after", "").isdigit(), f"503 without a numeric Retry-After: {resp.headers}"
    finally:
        pg.resume()

    def fit_again():
        r = post(svc.training.port, f"/fit/{sid}", {"timestamps": timestamps(4), "values": values_around(40)}, timeout=10)
        assert r.status in (200, 503), f"while Postgres comes back: {r!r}"
        return r.status == 200, r

    recovered = poll(fit_again, timeout=15, interval=0.5, message="a fit succeeding after Postgres resumed")
    # the fit that got a 503 may or may not have committed once Postgres woke up (its statements
    # were already sent), so v2 or v3; either way the next predict must use what was acknowledged
    assert recovered.json["version"] in ("v2", "v3"), recovered
    body = predict(svc.inference.port, sid, 40.0)
    assert body["model_version"] == recovered.json["version"] and body["z_score"] == 0.0, body
    # The log's write hung with Postgres and timed out; what was predicted meanwhile is sent again.
    assert_logged_once(svc, pg, sid, 1)


def test_a_log_commit_answered_too_late_is_written_once(svc, pg):
    """A commit that outlasts the log's 3-s reply timeout, then is applied: the writer gives up on the answer,
    asks Postgres what became of the transaction until it is settled, and does not send its records again.
    A deferred trigger holds the commit for 4.5 s, for one series only."""
    sid = new_series_id("late-commit")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    written = get(svc.inference.port, "/healthcheck").json["prediction_log"]["written"]
    doubts = svc.inference.logs(100_000).count("in_doubt=1")
    with commits_held(pg, "prediction_batches", sid, 4.5):
        assert predict(svc.inference.port, sid, 13.0, timestamp=4_242)["z_score"] == 1.0
        def in_doubt():
            log = get(svc.inference.port, "/healthcheck").json["prediction_log"]
            return log["pending"] >= 1 and svc.inference.logs(100_000).count("in_doubt=1") > doubts, log
        poll(in_doubt, timeout=10, interval=0.1, message="the writer holding the commit in doubt")
        assert_logged_once(svc, pg, sid, 4_242)
        # Counted as written once, by the lookup, and nothing left over.
        assert get(svc.inference.port, "/healthcheck").json["prediction_log"]["written"] >= written + 1
        time.sleep(1)
        assert logged_count(pg, sid, 4_242) == 1


def test_a_statistics_write_answered_too_late_is_counted_once(svc, pg):
    """The per-series totals the dashboard shows (`series_stats`) are written by their own writer, once a second.
    A write whose commit outlasts the 3-s reply timeout, then is applied: the writer sends it again with the
    same id (migration 7), and Postgres adds it only once. A deferred trigger holds the first commit that
    touches this series 4.5 s. Before session 10 the write was merged back and counted twice."""
    sid = new_series_id("late-stats")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    retries = svc.inference.logs(100_000).count("request statistics not written; will retry")
    with commits_held(pg, "series_stats", sid, 4.5, events="INSERT OR UPDATE", only_first=True):
        for k in range(5):
            assert predict(svc.inference.port, sid, 13.0, timestamp=6_000 + k)["z_score"] == 1.0
        counted = lambda: pg.psql(f"SELECT coalesce(max(predictions), 0) FROM series_stats WHERE series_id = '{sid}'")
        poll(lambda: (counted() != "0", counted()), timeout=20, interval=0.25, message="the series' totals written")
        time.sleep(5)  # the retry with the same id, and anything after it, has been sent
        assert counted() == "5", f"{counted()} predictions counted for 5"
        assert svc.inference.logs(100_000).count("request statistics not written; will retry") > retries, "the write was not held up"


def test_a_log_commit_stuck_past_the_settle_timeout_is_ended_and_written_once(svc, pg):
    """A commit held far longer (30 s) than the writer waits for a write in doubt (twice the 3-s reply
    timeout): the writer ends that transaction's backend (`pg_terminate_backend`, only while it still runs it),
    learns that it aborted, and sends the records again, once. Without the bound it would wait the 30 s, and
    on a half-open connection as long as TCP keepalive takes. Only the first commit of the series is held."""
    sid = new_series_id("stuck-commit")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    with commits_held(pg, "prediction_batches", sid, 30, only_first=True) as held:
        started = time.monotonic()
        assert predict(svc.inference.port, sid, 13.0, timestamp=4_343)["z_score"] == 1.0
        poll(lambda: (logged_count(pg, sid, 4_343) >= 1, None), timeout=25, interval=0.25,
             message="the stuck write's prediction in the log")
        assert time.monotonic() - started < 25, "waited for the 30-s commit instead of ending it"
        assert_logged_once(svc, pg, sid, 4_343)
        assert pg.psql(f"SELECT nextval('{held}')") == "3", "held once, sent again once"


def test_every_answered_predict_is_logged_once_across_a_postgres_crash_under_load(svc, pg):
    """Postgres crashes (immediate shutdown: no checkpoint, WAL buffers gone) while predicts stream in and the
    log commits every 20 ms, then comes back: every predict answered 200, before, during and after the outage,
    is in the log exactly once. The writer counts a record as written once its commit is answered and never
    sends it again; with asynchronous commit (before session 10) the WAL of the last commits could still be in
    Postgres's memory when it died, and those records were lost."""
    sid = new_series_id("log-crash")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    answered = []
    failures = []
    stop = threading.Event()

    def stream():
        connection = http.client.HTTPConnection("127.0.0.1", svc.inference.port, timeout=10)
        timestamp = 100_000
        try:
            while not stop.is_set():
                timestamp += 1
                body = json.dumps({"timestamp": str(timestamp), "value": 10.0})
                connection.request("POST", f"/predict/{sid}", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    answered.append(timestamp)
                else:
                    failures.append(response.status)
        except OSError as error:
            failures.append(repr(error))
        finally:
            connection.close()

    def rows():
        return int(pg.psql(f"SELECT count(*) FROM predictions WHERE series_id = '{sid}'"))

    counted = get(svc.inference.port, "/healthcheck").json["prediction_log"]
    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    try:
        poll(lambda: (rows() >= 3_000, len(answered)), timeout=30, interval=0.05, message="the stream in the log")
        pg.kill()
        time.sleep(0.5)
        pg.start()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(15)
    assert not failures, f"predicts of a model in memory failed around the crash: {failures[:5]}"
    assert len(answered) > 3_000
    log = poll(lambda: ((h := get(svc.inference.port, "/healthcheck").json["prediction_log"])["pending"] == 0, h),
               timeout=20, interval=0.25, message="the prediction log caught up")
    logged, distinct = (int(x) for x in pg.psql(
        f"SELECT count(*), count(DISTINCT ts) FROM predictions WHERE series_id = '{sid}'").split("|"))
    assert distinct == logged, f"{logged - distinct} predictions logged twice"
    assert log["dropped"] == counted["dropped"], "records dropped"
    assert logged == len(answered), f"{len(answered)} predicts answered, {logged} logged ({len(answered) - logged} lost)"
    assert log["written"] - counted["written"] == logged, f"counted {log['written'] - counted['written']} as written, {logged} in the log"


def test_sigterm_with_postgres_hung_exits_within_the_grace_period(svc, pg):
    """A shutdown while Postgres hangs: the prediction log and the request statistics cannot be written. Giving
    up on them fits in the grace period counted from SIGTERM (at least 2 s after the requests) plus two reply
    timeouts (3 s each: a log pass and a statistics write under way, which shutdown waits for instead of
    exiting in its middle), and what was not written is logged. The grace period is 1 s here; compose's stop
    timeout is 20 s for the default 10."""
    sid = new_series_id("hung-shutdown")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    doomed = svc.start("inference", name="inference-hung-shutdown", env={"SHUTDOWN_GRACE_SECONDS": "1"})
    for k in range(20):
        assert predict(doomed.port, sid, 10.0, timestamp=5_000 + k)["model_version"] == "v1"
    pg.pause()
    try:
        for k in range(20, 40):
            assert predict(doomed.port, sid, 10.0, timestamp=5_000 + k)["model_version"] == "v1"
        time.sleep(0.5)
        started = time.monotonic()
        code = doomed.stop(timeout=30, expect_code=None)
        elapsed = time.monotonic() - started
    finally:
        pg.resume()
    assert code == 0, f"exit code {code}:\n{doomed.logs()}"
    print(f"exited {elapsed:.2f}s after SIGTERM")
    assert elapsed < 1.5 + 2 + 2 * 3 + 1, f"exited {elapsed:.1f}s after SIGTERM with a 1-s grace period:\n{doomed.logs()}"
    assert "not written at shutdown" in doomed.logs(200), doomed.logs()


def test_both_restored_for_whatever_runs_next(svc, pg, redis):
    assert pg.running and redis.running
    sid = new_series_id("after-faults")
    assert fit(svc.training.port, sid, timestamps(4), values_around(0))["version"] == "v1"
    assert predict(svc.inference.port, sid, 0.0)["model_version"] == "v1"
    expect(get(svc.training.port, "/readyz"))
