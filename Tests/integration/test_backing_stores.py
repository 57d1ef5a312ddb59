"""The harness itself: Postgres and Redis start, survive a kill and come back with their data (no Swift needed)."""
import pytest

from backing_stores import PostgresServer, RedisServer, port_open


@pytest.fixture(scope="module")
def private_stores(run_dir):
    pg = PostgresServer(run_dir / "smoke")
    redis = RedisServer(run_dir / "smoke")
    try:
        yield pg.start(), redis.start()
    finally:
        pg.stop()
        redis.stop()


def test_postgres_keeps_committed_rows_across_a_crash_and_a_clean_restart(private_stores):
    pg, _ = private_stores
    pg.psql("CREATE TABLE smoke (x int8, v float8[]); INSERT INTO smoke VALUES (1, '{1.5,2.5}')")
    port = pg.port
    pg.kill()
    assert not pg.running and not port_open(port)
    with pytest.raises(RuntimeError):
        pg.psql("SELECT 1")
    pg.start()
    assert pg.port == port
    assert pg.psql("SELECT x, array_to_json(v) FROM smoke") == "1|[1.5,2.5]"
    pg.kill()
    pg.start()
    pg.psql("INSERT INTO smoke VALUES (2, NULL)")
    pg.stop()
    assert pg.proc.returncode == 0
    pg.start()
    assert pg.psql("SELECT count(*) FROM smoke") == "2"


def test_redis_comes_back_empty_on_the_same_port_after_sigkill(private_stores):
    _, redis = private_stores
    assert redis.command("SET", "k", "v") == "+OK"
    assert redis.command("DBSIZE") == ":1"
    port = redis.port
    redis.kill()
    assert not redis.running and not port_open(port)
    redis.start()
    assert redis.port == port
    assert redis.command("DBSIZE") == ":0"


def test_session_stores_are_up(pg, redis):
    assert pg.psql("SHOW server_version").startswith("15")
    assert redis.command("PING") == "+PONG"
