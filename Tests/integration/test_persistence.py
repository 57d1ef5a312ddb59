"""What the services leave in Postgres: the schema, models, their training data, and predictions."""
import json

import numpy as np
import pytest

from api_client import assert_close, fit, new_series_id, poll, predict, timestamps

TABLE_COLUMNS = {
    "series": {"series_id", "latest_version"},
    "model_versions": {"series_id", "version", "mean", "std", "threshold", "direction", "points_used", "trained_at"},
    "training_data": {"series_id", "version", "timestamps", "values"},
    "predictions": {"series_id", "version", "ts", "value", "anomaly", "z_score", "latency_us", "recorded_at"},
}


@pytest.fixture(scope="module")
def svc(make_services):
    return make_services()


def same_version(stored: str, version: str) -> bool:
    """The column may hold 3 or 'v3'."""
    return stored in (version, version.lstrip("v"))


def test_schema_has_the_tables_and_columns(svc, pg):
    for table, columns in TABLE_COLUMNS.items():
        found = set(pg.psql(f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'").split("\n"))
        assert columns <= found, f"table {table}: missing columns {columns - found} (has {found})"
    types = dict(line.split("|") for line in pg.psql(
        "SELECT column_name, data_type || ':' || udt_name FROM information_schema.columns "
        "WHERE table_name = 'training_data' AND column_name IN ('timestamps', 'values')").split("\n"))
    assert types == {"timestamps": "ARRAY:_int8", "values": "ARRAY:_float8"}, types


def test_every_migration_is_recorded_once_and_arrays_are_stored_uncompressed(svc, pg):
    versions = pg.psql("SELECT version FROM schema_migrations ORDER BY version").split("\n")
    assert versions == ["1", "2", "3", "4", "5", "6", "7"], versions
    storage = pg.psql("SELECT attstorage FROM pg_attribute WHERE attrelid = 'prediction_batches'::regclass AND attname = 'records'")
    # 'e' is EXTERNAL: out of line and not compressed (compressing the log cost Postgres 3x the CPU).
    assert storage == "e", storage
    options = pg.psql("SELECT reloptions FROM pg_class WHERE relname = 'prediction_batches'")
    assert "toast_tuple_target=8160" in options, options
    # The retention's BRIN index summarizes ranges as they fill, not at the next VACUUM.
    index_options = pg.psql("SELECT reloptions FROM pg_class WHERE relname = 'prediction_batches_recorded_at'")
    assert "autosummarize=on" in index_options, index_options
    # ANALYZE skips the log's bytes (no query filters on them) and the training arrays (their element
    # statistics cost 9x the CPU).
    targets = dict(line.split("|") for line in pg.psql(
        "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = 'prediction_batches'::regclass "
        "AND attname IN ('records', 'series_id')").split("\n"))
    assert targets == {"records": "0", "series_id": "-1"}, targets
    training = dict(line.split("|") for line in pg.psql(
        "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = 'training_data'::regclass "
        "AND attname IN ('timestamps', 'values')").split("\n"))
    assert training == {"timestamps": "0", "values": "0"}, training


def test_series_and_version_are_unique_in_model_versions(svc, pg):
    unique = pg.psql(
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "WHERE c.relname = 'model_versions' AND i.indisunique AND "
        "(SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a "
        " WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey)) = ARRAY['series_id', 'version']")
    assert int(unique) >= 1, "no unique index on model_versions (series_id, version)"


def test_a_fit_stores_its_model_and_exact_training_data(svc, pg):
    sid = new_series_id("stored")
    rng = np.random.default_rng(3)
    values = rng.normal(12.0, 2.0, 25).tolist()
    ts = timestamps(25, start=1_690_000_000, step=17)
    first = fit(svc.training.port, sid, ts, values, threshold=2.5, direction="upper")
    second = fit(svc.training.port, sid, ts[:5], values[:5])

    rows = pg.psql(f"SELECT version::text, mean, std, threshold, direction, points_used FROM model_versions "
                   f"WHERE series_id = '{sid}' ORDER BY trained_at, version::text").split("\n")
    assert len(rows) == 2, rows
    for row, fitted in zip(rows, (first, second)):
        version, mean, std, threshold, direction, points = row.split("|")
        assert same_version(version, fitted["version"]), (row, fitted)
        assert_close(float(mean), fitted["mean"], rel=1e-12, what="stored mean")
        assert_close(float(std), fitted["std"], rel=1e-12, what="stored std")
        assert float(threshold) == fitted["threshold"] and direction == fitted["direction"], (row, fitted)
        assert int(points) == fitted["points_used"], (row, fitted)

    latest = pg.psql(f"SELECT latest_version::text FROM series WHERE series_id = '{sid}'")
    assert same_version(latest, "v2"), latest

    for fitted, n in ((first, 25), (second, 5)):
        number = fitted["version"].lstrip("v")
        stored = pg.psql(f"SELECT array_to_json(timestamps), array_to_json(\"values\") FROM training_data "
                         f"WHERE series_id = '{sid}' AND version::text IN ('{number}', 'v{number}')")
        assert stored, f"no training_data for {sid} {fitted['version']}"
        stored_ts, stored_values = stored.split("|")
        assert json.loads(stored_ts) == ts[:n], stored_ts
        assert json.loads(stored_values) == values[:n], "training values not stored exactly"


FLOAT8_CASES = ["0", "-0", "1", "-1", "0.1", "-2.5e300", "1e-310", "-5e-324", "2.2250738585072014e-308",
                "1.7976931348623157e308", "-1.7976931348623157e308", "123456789.12345679", "Infinity", "-Infinity", "NaN"]
FLOAT4_CASES = ["0", "-0", "1.5", "12.34", "1e-45", "-1.1754944e-38", "3.4028235e38", "Infinity", "-Infinity", "NaN"]


def test_the_predictions_view_decodes_every_kind_of_float_exactly(svc, pg):
    """The view rebuilds IEEE 754 values from their bits in SQL (Postgres's receive functions are not callable
    there): each value written with Postgres's own send function must come back as itself, in every class."""
    literal = lambda cases: ",".join(f"'{case}'" for case in cases)
    decoders = (
        (FLOAT8_CASES, "float8", "prediction_log_float8(prediction_log_int8(float8send(x), 0))"),
        (FLOAT4_CASES, "real", "prediction_log_float4(('x' || encode(float4send(x), 'hex'))::bit(32)::integer)"),
    )
    for cases, sql_type, decoded in decoders:
        lines = pg.psql(f"SELECT x::text, {decoded}::text FROM unnest(ARRAY[{literal(cases)}]::{sql_type}[]) AS x").split("\n")
        assert len(lines) == len(cases)
        for line in lines:
            sent, back = line.split("|")
            assert sent == back, line
    assert pg.psql("SELECT prediction_log_int8(int8send(-9223372036854775808) || int8send(42), 8)") == "42"


def test_predictions_are_recorded_asynchronously(svc, pg):
    sid = new_series_id("recorded")
    fit(svc.training.port, sid, timestamps(4), [0.0, 6.0, 0.0, 6.0])         # v1: mean 3, std 3
    fit(svc.training.port, sid, timestamps(4), [10.0, 16.0, 10.0, 16.0])     # v2: mean 13, std 3
    sent = []
    for i in range(30):
        value = float(i)
        version = "v1" if i % 3 == 0 else None
        body = predict(svc.inference.port, sid, value, timestamp=1_700_000_000 + i, version=version)
        sent.append((1_700_000_000 + i, value, body))

    def count():
        n = int(pg.psql(f"SELECT count(*) FROM predictions WHERE series_id = '{sid}'"))
        return n >= len(sent), n

    poll(count, timeout=10, interval=0.25, message=f"{len(sent)} predictions rows")
    rows = {int(line.split("|")[0]): line.split("|") for line in pg.psql(
        f"SELECT ts, version::text, value, anomaly, z_score, latency_us FROM predictions "
        f"WHERE series_id = '{sid}'").split("\n")}
    assert len(rows) == len(sent), f"{len(rows)} distinct rows for {len(sent)} predicts"
    for ts, value, body in sent:
        _, version, stored_value, anomaly, z, latency = rows[ts]
        assert same_version(version, body["model_version"]), (rows[ts], body)
        assert float(stored_value) == value and (anomaly == "t") is body["anomaly"], (rows[ts], body)
        assert_close(float(z), body["z_score"], rel=1e-12, abs_tol=1e-12, what="stored z_score")
        assert int(latency) >= 0, rows[ts]


def test_prediction_log_off_records_nothing_but_still_answers(svc, pg):
    """PREDICTION_LOG=off: predicts answer as usual and no row is written (the same service with the log on
    writes them, see above); the control series on the default instance proves the poll would have seen rows."""
    quiet = svc.start("inference", name="inference-no-log", env={"PREDICTION_LOG": "off"})
    sid = new_series_id("nolog")
    control = new_series_id("withlog")
    for series in (sid, control):
        fit(svc.training.port, series, timestamps(4), [0.0, 6.0, 0.0, 6.0])
    for i in range(10):
        assert predict(quiet.port, sid, float(i))["model_version"] == "v1"
        predict(svc.inference.port, control, float(i))

    def control_written():
        n = int(pg.psql(f"SELECT count(*) FROM predictions WHERE series_id = '{control}'"))
        return n >= 10, n

    poll(control_written, timeout=10, interval=0.25, message="control predictions rows")
    assert int(pg.psql(f"SELECT count(*) FROM predictions WHERE series_id = '{sid}'")) == 0
    quiet.stop()
