#!/usr/bin/env bash
# Installs the system packages the project needs, only those missing. Idempotent.
#   scripts/install-deps.sh [runtime|test]   (default: test, which includes runtime)
set -euo pipefail
profile=${1:-test}
# postgresql-15 and redis-server: make start runs project-local ones unless DATABASE_URL/REDIS_URL point elsewhere.
runtime=(pkg-config libpq-dev libhiredis-dev curl postgresql-15 redis-server python3)
test_only=(wrk nginx-light python3-pip chromium valgrind)
# Debian 12 ships postgresql-15; other releases (Ubuntu 22.04/24.04) name their own version: take theirs.
if ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "install ok installed" \
   && ! apt-cache show postgresql-15 >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  runtime=("${runtime[@]/postgresql-15/}")
elif ! apt-cache show postgresql-15 >/dev/null 2>&1 && ! dpkg-query -W postgresql-15 >/dev/null 2>&1; then
  runtime=("${runtime[@]/postgresql-15/postgresql}")
fi
packages=()
for package in "${runtime[@]}"; do if [[ -n $package ]]; then packages+=("$package"); fi; done
[[ $profile == test ]] && packages+=("${test_only[@]}")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

command -v swift >/dev/null || { echo "Swift 6 toolchain not found on PATH (https://www.swift.org/install/)" >&2; exit 1; }

if [[ $profile == test ]]; then
  if ! python3 -c 'import pytest, numpy, yaml, openapi_spec_validator, schemathesis' 2>/dev/null || ! command -v hadolint >/dev/null; then
    # Debian's own python3 refuses pip installs into it (PEP 668); a pyenv or venv python does not.
    python3 -m pip install -q -r Tests/system/requirements.txt 2>/dev/null \
      || python3 -m pip install -q --break-system-packages -r Tests/system/requirements.txt
  fi
fi
