"""Upgrading a database written by an earlier release: migration 6 turns the prediction log's five arrays per
row into one packed bytea, and must keep every prediction, bit for bit, with its batch id, time and counts."""
import re
import subprocess
import threading
import time
from pathlib import Path

from backing_stores import PSQL
from api_client import expect, fit, get, new_series_id, poll, predict, timestamps

MIGRATIONS = Path(__file__).resolve().parents[2] / "Sources/AnomalyDetection/Storage/SchemaMigrations.swift"
DATABASE = "upgrade_from_v5"
VIEW = "batch_id, series_id, version, ts, value::text, anomaly, z_score::text, latency_us::text, recorded_at"


def shipped_migrations():
    """The SQL of each migration as the source holds it (the multi-line literal without its indentation)."""
    source = MIGRATIONS.read_text()
    found = re.findall(r'Migration\(version: (\d+), summary: "([^"]*)", sql: """\n(.*?)\n( *)"""\)', source, re.S)
    migrations = {}
    for version, summary, body, indent in found:
        assert "\\" not in body, f"migration {version} has an escape the test cannot read"
        migrations[int(version)] = (summary, "\n".join(line[len(indent):] for line in body.split("\n")))
    return migrations


def release_5_database(pg, database, migrations):
    """A fresh database with the schema release 5 left (migrations 1-5 as recorded by the service); returns
    a function running SQL in it."""
    pg.psql(f"DROP DATABASE IF EXISTS {database}")
    pg.psql(f"CREATE DATABASE {database}")
    run = lambda sql: pg.psql(sql, database=database)
    run("CREATE TABLE schema_migrations (version integer PRIMARY KEY, summary text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
    for version in range(1, 6):
        summary, sql = migrations[version]
        run(sql)
        run(f"INSERT INTO schema_migrations (version, summary) VALUES ({version}, '{summary}')")
    return run


def test_migration_6_converts_an_existing_array_log_exactly(make_services, pg):
    migrations = shipped_migrations()
    assert sorted(migrations)[:6] == [1, 2, 3, 4, 5, 6], sorted(migrations)
    # The schema as release 5 left it, with predictions in its array layout, extremes included.
    old = release_5_database(pg, DATABASE, migrations)
    old("""INSERT INTO prediction_batches (series_id, version, count, anomaly_count, ts, "values", anomalies, z_scores, latency_us) VALUES
        ('old-a', 1, 3, 1, '{1700000000,1700000001,-3}', '{0.1,-0,1e-310}', '{f,t,f}', '{1.5,-2.5e300,NaN}', '{12.5,0,1e-40}'),
        ('old-b', 2, 2, 0, '{9223372036854775807,-9223372036854775808}', '{Infinity,-Infinity}', '{f,f}',
         '{5e-324,1.7976931348623157e308}', '{Infinity,3.4028235e38}')""")
    old("""INSERT INTO prediction_batches (series_id, version, count, anomaly_count, ts, "values", anomalies, z_scores, latency_us)
        SELECT 'old-long', 1, 250, 25, array_agg(i::bigint ORDER BY i), array_agg(i / 7.0 ORDER BY i), array_agg(i % 10 = 0 ORDER BY i),
               array_agg(i / 3.0 ORDER BY i), array_agg((i * 1.5)::real ORDER BY i) FROM generate_series(1, 250) AS i""")
    before = old(f"SELECT {VIEW} FROM predictions ORDER BY batch_id, recorded_at, ts").split("\n")
    batches = old("SELECT id, series_id, version, count, anomaly_count, recorded_at FROM prediction_batches ORDER BY id")
    assert len(before) == 255

    url = f"postgresql://postgres@127.0.0.1:{pg.port}/{DATABASE}"
    services = make_services(training=False, inference=False)
    training = services.start("training", env={"DATABASE_URL": url})
    assert old("SELECT max(version) FROM schema_migrations") == str(max(migrations))
    assert "applying a schema migration" in training.log_path.read_text()
    assert old("SELECT count(*) FROM information_schema.columns WHERE table_name = 'prediction_batches' AND column_name = 'ts'") == "0"
    after = old(f"SELECT {VIEW} FROM predictions ORDER BY batch_id, recorded_at, ts").split("\n")
    # Order within a batch is the arrays' order: compare as lists, ts order is only for the long batch.
    assert sorted(after) == sorted(before)
    assert old("SELECT id, series_id, version, count, anomaly_count, recorded_at FROM prediction_batches ORDER BY id") == batches
    # The order within each batch is the arrays' order, read straight from the bytes (the view has no position).
    order = "SELECT string_agg(prediction_log_int8(records, n * 29)::text, ',' ORDER BY n) FROM prediction_batches, " \
            "generate_series(0, count - 1) AS n WHERE series_id = '{}'"
    assert old(order.format("old-a")) == "1700000000,1700000001,-3"
    assert old(order.format("old-long")) == ",".join(str(i) for i in range(1, 251))
    # Converted rows were written with the log's storage settings: 250 predictions stay uncompressed.
    assert old("SELECT pg_column_size(records) >= length(records) FROM prediction_batches WHERE series_id = 'old-long'") == "t"

    # The upgraded log takes new predictions after the old ones.
    inference = services.start("inference", env={"DATABASE_URL": url})
    sid = new_series_id("upgraded")
    fit(training.port, sid, timestamps(4), [0.0, 6.0, 0.0, 6.0])
    for i in range(5):
        predict(inference.port, sid, float(i), timestamp=1_800_000_000 + i)

    def logged():
        rows = old(f"SELECT batch_id, ts, value FROM predictions WHERE series_id = '{sid}' ORDER BY ts")
        return len(rows.split("\n")) == 5 if rows else False, rows

    rows = poll(logged, timeout=10, interval=0.25, message="the new predictions in the upgraded log")
    # The dashboard reads the packed records whatever form the database gives bytea in by default.
    old(f"ALTER DATABASE {DATABASE} SET bytea_output = 'escape'")
    monitoring = services.start("monitoring", env={"DATABASE_URL": url})
    recent = expect(get(monitoring.port, f"/api/series/{sid}"))["recent_predictions"]
    assert [p["timestamp"] for p in recent] == [1_800_000_000 + i for i in reversed(range(5))], recent
    ids = [int(line.split("|")[0]) for line in rows.split("\n")]
    assert min(ids) > 3, rows
    assert [(int(ts), float(value)) for _, ts, value in (line.split("|") for line in rows.split("\n"))] == \
        [(1_800_000_000 + i, float(i)) for i in range(5)]


def test_a_service_starts_while_another_process_holds_the_migration_lock(make_services, pg):
    """Another process migrating (here: a session holding the migrations' advisory lock) does not hold a
    starting service up: it waits for the lock a bounded time, starts serving (not ready), and becomes ready
    once the lock is free. Without the bound it would wait in start-up for as long as the lock is held."""
    holder = subprocess.Popen([PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres",
                               "-c", "SELECT pg_advisory_lock(7334221)", "-c", "SELECT pg_sleep(60)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll(lambda: (pg.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7334221 AND granted") == "1", None),
             timeout=10, message="the advisory lock held by the test's session")
        services = make_services(training=False, inference=False)
        started = time.monotonic()
        training = services.start("training", env={"DB_STARTUP_WAIT_SECONDS": "1"}, wait_for="/livez", timeout=15)
        assert time.monotonic() - started < 12
        assert get(training.port, "/readyz").status == 503
    finally:
        # The server would go on sleeping with the lock after its client went: end the session itself.
        pg.psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7334221 AND granted")
        holder.wait(timeout=10)
    poll(lambda: ((r := get(training.port, "/readyz")).status == 200, r), timeout=15, interval=0.25,
         message="ready once the lock is free")


def test_a_service_whose_migration_waits_serves_meanwhile(make_services, pg):
    """The process that runs a migration does not wait for it in start-up either: here migration 6 waits for
    a session that reads the old log inside an open transaction. The service answers `/livez` within seconds,
    `/readyz` 503 until the migration is done, then 200."""
    database = "migration_waits"
    migrations = shipped_migrations()
    old = release_5_database(pg, database, migrations)
    reader = subprocess.Popen([PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", database],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    reader.stdin.write("BEGIN; SELECT count(*) FROM prediction_batches; SELECT pg_sleep(60);\n")
    reader.stdin.flush()
    try:
        poll(lambda: (old("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                          "WHERE c.relname = 'prediction_batches' AND l.granted") != "0", None),
             timeout=10, message="the reader's lock on the old log")
        services = make_services(training=False, inference=False)
        started = time.monotonic()
        url = f"postgresql://postgres@127.0.0.1:{pg.port}/{database}"
        training = services.start("training", env={"DATABASE_URL": url, "DB_STARTUP_WAIT_SECONDS": "1"}, wait_for="/livez", timeout=15)
        assert time.monotonic() - started < 10
        poll(lambda: ("applying a schema migration" in training.log_path.read_text(), None), timeout=10, interval=0.2,
             message="migration 6 under way")
        assert get(training.port, "/readyz").status == 503
        assert old("SELECT max(version) FROM schema_migrations") == "5"
    finally:
        old("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
        reader.kill()
        reader.wait(timeout=10)
    poll(lambda: ((r := get(training.port, "/readyz")).status == 200, r), timeout=15, interval=0.25,
         message="ready once the migration is done")
    assert old("SELECT max(version) FROM schema_migrations") == str(max(migrations))


def test_services_starting_together_on_an_empty_database_migrate_it_once(make_services, pg):
    """Several processes starting at once on an empty database (a deploy that starts every service, or
    replicas): one runs each migration, the others wait for it and find it done. Each migration is recorded
    once, every process becomes ready, and the schema works."""
    database = "started_together"
    pg.psql(f"DROP DATABASE IF EXISTS {database}")
    pg.psql(f"CREATE DATABASE {database}")
    url = f"postgresql://postgres@127.0.0.1:{pg.port}/{database}"
    services = make_services(training=False, inference=False)
    kinds = ["training", "inference", "training", "inference", "monitoring"]
    started, failures = [], []

    def start(kind):
        try:
            started.append(services.start(kind, env={"DATABASE_URL": url}, timeout=60))
        except Exception as error:  # reported below, with the others
            failures.append(f"{kind}: {error}")

    threads = [threading.Thread(target=start, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not failures, failures
    assert len(started) == len(kinds)
    run = lambda sql: pg.psql(sql, database=database)
    shipped = sorted(shipped_migrations())
    assert run("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations") == ",".join(map(str, shipped))
    # One process applied them all; none failed one and retried. (Waiting past the 2-s lock timeout for the one
    # that migrates is allowed: a loaded machine may take that long.)
    logs = [service.logs(400) for service in started]
    assert sum(log.count("applying a schema migration") for log in logs) == len(shipped), logs
    failed = [line for log in logs for line in log.splitlines() if "cannot migrate the schema yet" in line and "lock timeout" not in line]
    assert not failed, failed
    sid = new_series_id("together")
    training = next(s for s in started if s.kind == "training")
    inference = next(s for s in started if s.kind == "inference")
    assert fit(training.port, sid, timestamps(4), [1.0, 2.0, 3.0, 4.0])["version"] == "v1"
    assert predict(inference.port, sid, 2.5)["model_version"] == "v1"
