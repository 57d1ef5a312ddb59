"""The three service executables: ports from flag and environment, operational routes, start-up errors."""
import json
import socket
import subprocess

import pytest

from conftest import RunningServer, bin_dir, free_port
from rawhttp import RawClient

# No Postgres or Redis here: the services must still start, answer /livez and report themselves down.
NO_BACKEND = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", "REDIS_URL": f"redis://127.0.0.1:{free_port()}", "DB_STARTUP_WAIT_SECONDS": "0"}

SERVICES = [("training-service", "training", "TRAINING_PORT"), ("inference-service", "inference", "INFERENCE_PORT"), ("monitoring-service", "monitoring", "MONITORING_PORT")]


def get_json(port, path):
    c = RawClient(port)
    c.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    response = c.read_response()
    c.close()
    return response.status, json.loads(response.body)


@pytest.mark.parametrize("executable, name, port_variable", SERVICES)
def test_service_answers_livez_and_healthcheck_on_flag_port(executable, name, port_variable):
    srv = RunningServer(executable, env=NO_BACKEND)
    try:
        assert get_json(srv.port, "/livez") == (200, {"status": "ok"})
        status, health = get_json(srv.port, "/healthcheck")
        assert status == 200
        assert health["service"] == name and health["uptime_s"] >= 0
        assert health["status"] == "down" and health["postgres"]["state"] == "down" and health["redis"]["state"] == "down"
        status, ready = get_json(srv.port, "/readyz")
        assert status == 503 and ready["status"] == "not_ready"
    finally:
        assert srv.terminate() == 0


@pytest.mark.parametrize("executable, name, port_variable", SERVICES)
def test_service_port_from_environment(executable, name, port_variable):
    port = free_port()
    log = open(f"/tmp/{executable}-env.log", "wb")
    process = subprocess.Popen([str(bin_dir() / executable)], env={port_variable: str(port), **NO_BACKEND}, stdout=log, stderr=subprocess.STDOUT)
    srv = RunningServer.__new__(RunningServer)
    srv.port, srv.process, srv.log, srv.log_path = port, process, log, None
    try:
        srv.wait_ready()
        assert get_json(port, "/livez")[0] == 200
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_bad_configuration_stops_with_a_message_naming_the_variable():
    out = subprocess.run([str(bin_dir() / "inference-service")], env={"INFERENCE_PORT": "not-a-port"}, capture_output=True, text=True, timeout=10)
    assert out.returncode != 0
    assert "INFERENCE_PORT" in out.stderr and "not-a-port" in out.stderr


def test_taken_port_is_reported_clearly():
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        out = subprocess.run([str(bin_dir() / "training-service"), "--port", str(port)], capture_output=True, text=True, timeout=10)
    assert out.returncode != 0
    assert f"127.0.0.1:{port}" in out.stderr and "in use" in out.stderr


def test_second_instance_on_the_same_port_fails_instead_of_sharing_it():
    first = RunningServer("training-service", env=NO_BACKEND)
    try:
        out = subprocess.run([str(bin_dir() / "training-service"), "--port", str(first.port)], capture_output=True, text=True, timeout=10)
        assert out.returncode != 0, "SO_REUSEPORT must not let a second instance share the port"
        assert "in use" in out.stderr
    finally:
        assert first.terminate() == 0
