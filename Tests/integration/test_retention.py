"""The prediction log's retention against a real Postgres: expired batches and per-minute statistics go,
recent ones and the per-series totals stay."""
import time

import pytest

from api_client import expect, fit, get, new_series_id, poll, predict, timestamps


@pytest.fixture(scope="module")
def svc(make_services):
    # A window of one hour, looked at five times a second, so that the test need not wait a minute.
    return make_services(env={"PREDICTION_LOG_RETENTION_HOURS": "1", "PREDICTION_LOG_PRUNE_INTERVAL_SECONDS": "0.2"})


def logged(pg, series):
    """(batches, predictions) of the series in the log."""
    batches, predictions = pg.psql(f"SELECT count(*), coalesce(sum(count), 0) FROM prediction_batches WHERE series_id = '{series}'").split("|")
    return int(batches), int(predictions)


def test_retention_zero_keeps_every_prediction_however_old(make_services, pg):
    """PREDICTION_LOG_RETENTION_HOURS=0 keeps the whole log. First in the module, before `svc` (which prunes
    after an hour) starts; looked at five times a second, a retention that read 0 as "older than 0 hours"
    would delete the aged batches several times over during the wait."""
    services = make_services(inference=False)
    keeper = services.start("inference", env={"PREDICTION_LOG_RETENTION_HOURS": "0", "PREDICTION_LOG_PRUNE_INTERVAL_SECONDS": "0.2"})
    series = new_series_id("keep-all")
    fit(services.training.port, series, timestamps(6), [10, 11, 9, 10, 12, 8])
    for value in range(10):
        predict(keeper.port, series, 10 + value * 0.1)
    poll(lambda: (logged(pg, series)[1] == 10, logged(pg, series)), timeout=10, message="10 predictions logged")
    pg.psql(f"UPDATE prediction_batches SET recorded_at = now() - interval '400 days' WHERE series_id = '{series}'")
    before = logged(pg, series)
    predict(keeper.port, series, 10.5)
    poll(lambda: (logged(pg, series)[1] == 11, logged(pg, series)), timeout=10, message="the 11th prediction logged")
    time.sleep(1.5)
    assert logged(pg, series)[1] == 11, logged(pg, series)
    assert pg.psql(f"SELECT count(*) FROM prediction_batches WHERE series_id = '{series}' AND recorded_at < now() - interval '399 days'") == str(before[0])
    health = expect(get(keeper.port, "/healthcheck"))["prediction_log"]
    assert health["retention_hours"] == 0 and health["pruned_batches"] == 0, health
    keeper.stop()


def test_expired_predictions_are_deleted_and_recent_ones_and_totals_kept(svc, pg):
    series = new_series_id("retention")
    fit(svc.training.port, series, timestamps(6), [10, 11, 9, 10, 12, 8])
    for value in range(10):
        predict(svc.inference.port, series, 10 + value * 0.1)
    poll(lambda: (logged(pg, series)[1] == 10, logged(pg, series)), timeout=10, message="10 predictions logged")
    # Two hours old: past the window. A per-minute row of that age, too.
    pg.psql(f"UPDATE prediction_batches SET recorded_at = now() - interval '2 hours' WHERE series_id = '{series}'")
    pg.psql("INSERT INTO request_minutes (minute, kind, requests, anomalies, latency_buckets) "
            "VALUES (date_trunc('minute', now()) - interval '2 hours', 'retention-test', 1, 0, '{1}') ON CONFLICT DO NOTHING")
    for value in range(5):
        predict(svc.inference.port, series, 10 + value * 0.1)

    # The 5 recent predictions may have gone out in one writer pass or several: count predictions, not batches.
    expired = f"SELECT count(*) FROM prediction_batches WHERE series_id = '{series}' AND recorded_at < now() - interval '1 hour'"
    poll(lambda: (pg.psql(expired) == "0" and logged(pg, series)[1] == 5, (pg.psql(expired), logged(pg, series))), timeout=10,
         message="the expired batches deleted and the recent ones kept")
    assert pg.psql("SELECT count(*) FROM request_minutes WHERE kind = 'retention-test'") == "0"
    # The totals the dashboard shows are not the log's: all 15 predictions still count.
    poll(lambda: (pg.psql(f"SELECT predictions FROM series_stats WHERE series_id = '{series}'") == "15",
                  pg.psql(f"SELECT predictions FROM series_stats WHERE series_id = '{series}'")), timeout=10, message="15 in series_stats")
    health = expect(get(svc.inference.port, "/healthcheck"))["prediction_log"]
    assert health["retention_hours"] == 1 and health["pruned_batches"] >= 1, health
    metrics = get(svc.inference.port, "/metrics").body.decode()
    pruned = [line for line in metrics.splitlines() if line.startswith("anomaly_prediction_batches_pruned")]
    assert pruned and float(pruned[0].split()[-1]) >= 1, pruned
