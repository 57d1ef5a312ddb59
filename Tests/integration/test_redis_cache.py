"""What the services keep in Redis: each version's parameters and each series' latest version, written by
training after the commit and refilled from Postgres by inference when Redis has forgotten them."""
import json

import pytest

from api_client import fit, get, new_series_id, poll, predict, timestamps


@pytest.fixture(scope="module")
def svc(make_services):
    return make_services()


def values_around(center):
    return [center - 3.0, center + 3.0, center - 3.0, center + 3.0]


def stored(redis, sid, version):
    text = redis.get(f"ad:model:{sid}:{version}")
    return None if text is None else json.loads(text)


def test_a_fit_stores_its_parameters_and_raises_the_latest_pointer(svc, redis):
    sid = new_series_id("redis-fit")
    first = fit(svc.training.port, sid, timestamps(4), values_around(10))
    assert redis.get(f"ad:latest:{sid}") == "1"
    second = fit(svc.training.port, sid, timestamps(4), values_around(20), threshold=2.5)
    assert redis.get(f"ad:latest:{sid}") == "2"
    for version, answer in ((1, first), (2, second)):
        model = stored(redis, sid, version)
        assert model is not None and model["version"] == version and model["seriesID"] == sid, model
        parameters = model["model"]
        assert (parameters["mean"], parameters["std"], parameters["threshold"]) == (answer["mean"], answer["std"], answer["threshold"]), (model, answer)


def test_parameters_redis_has_forgotten_are_refilled_from_postgres(svc, redis):
    """Inference asks Postgres when Redis has nothing for a series (evicted, flushed, a Redis that restarted
    empty), and puts back what it read: the latest pointer and that version's parameters, and a pinned old
    version's parameters without moving the pointer back."""
    sid = new_series_id("redis-refill")
    fit(svc.training.port, sid, timestamps(4), values_around(10))
    fit(svc.training.port, sid, timestamps(4), values_around(20))
    for key in (f"ad:latest:{sid}", f"ad:model:{sid}:1", f"ad:model:{sid}:2"):
        assert redis.command("DEL", key) == ":1", key
    assert predict(svc.inference.port, sid, 20.0)["model_version"] == "v2"  # inference has not seen it yet
    assert redis.get(f"ad:latest:{sid}") == "2"
    assert stored(redis, sid, 2)["version"] == 2
    assert stored(redis, sid, 1) is None
    assert predict(svc.inference.port, sid, 10.0, version=1)["model_version"] == "v1"
    assert stored(redis, sid, 1)["version"] == 1
    assert redis.get(f"ad:latest:{sid}") == "2", "a pinned old version never lowers the pointer"


def clients_logged_in_as(redis, user):
    """The connections Redis has open for an ACL user (CLIENT LIST, one line per connection, `user=NAME`)."""
    return [line for line in redis.bulk("CLIENT", "LIST").splitlines() if f" user={user} " in f" {line} "]


def test_services_log_in_as_the_redis_acl_user_of_redis_url(make_services, redis):
    """`redis://user:password@host` logs in as that ACL user (AUTH user password) on every connection: the
    command connection and inference's model-update subscription. With the user's password wrong, Redis turns
    every connection away: health says so, and predicts fall back to Postgres."""
    user, password = "anomaly-acl", "acl-" + new_series_id("pw")
    assert redis.command("ACL", "SETUSER", user, "reset", "on", f">{password}", "~*", "&*", "+@all") == "+OK"
    try:
        svc = make_services(env={"REDIS_URL": f"redis://{user}:{password}@127.0.0.1:{redis.port}"})
        sid = new_series_id("redis-acl")
        fit(svc.training.port, sid, timestamps(4), values_around(10))
        assert redis.get(f"ad:latest:{sid}") == "1", "training did not write through the ACL user's connection"
        assert predict(svc.inference.port, sid, 10.0)["model_version"] == "v1"
        health = get(svc.inference.port, "/healthcheck").json
        assert health["status"] == "ok", health
        logged_in = clients_logged_in_as(redis, user)
        assert any("cmd=subscribe" in line or "sub=1" in line for line in logged_in), logged_in
        assert len(logged_in) >= 3, f"training, inference and its subscription should each log in: {logged_in}"

        wrong = make_services(training=False, inference=False, env={"REDIS_URL": f"redis://{user}:not-{password}@127.0.0.1:{redis.port}"})
        wrong.start("inference", wait_for="/livez")  # /readyz is 503 while Redis is unreachable (the contract)
        assert get(wrong.inference.port, "/readyz").status == 503
        health = poll(lambda: ((h := get(wrong.inference.port, "/healthcheck").json)["redis"]["state"] != "up", h),
                      timeout=10, message="redis reported down with a wrong password")
        assert health["status"] == "degraded", health
        assert "WRONGPASS" in health["redis"].get("error", "") or "invalid" in health["redis"].get("error", ""), health
        assert predict(wrong.inference.port, sid, 10.0)["model_version"] == "v1", "no fallback to Postgres"
    finally:
        redis.command("ACL", "DELUSER", user)
