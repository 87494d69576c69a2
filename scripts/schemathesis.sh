#!/usr/bin/env bash
# An independent OpenAPI tester against the embedded mock: schemathesis (pinned, from PyPI into
# a virtual environment outside the repository) runs every operation of
# openapi/hero-public-api.yaml with all its checks and a fixed seed (.ci/schemathesis.toml says
# what is configured away and why). Any failure fails the script: a request the document
# forbids that the mock accepts (the mock kinder than Hero), a schema-valid request it refuses,
# a status or body the document does not declare.
#
#   scripts/schemathesis.sh            # installs schemathesis if needed, builds and starts the mock
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
venv="${TMPDIR:-/tmp}/hero-health-schemathesis-${SCHEMATHESIS_VERSION}"
if ! "$venv/bin/st" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 comes without venv (package python3-venv).
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq python3-venv >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-venv >/dev/null; }
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
fi

# The mock as users start it (the serve_mock example), on a free port it prints.
cargo build --locked --quiet --example serve_mock --features mock
mock=$(cargo build --locked --quiet --example serve_mock --features mock --message-format=json |
  grep -F '"kind":["example"]' | grep -F '"name":"serve_mock"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | head -n 1)
log=$(mktemp)
"$mock" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q "mock Hero server at" "$log" && break
  sleep 0.1
done
url=$(sed -n 's/^mock Hero server at \(http:[^ ]*\) .*/\1/p' "$log")
key=$(sed -n 's/.*x-api-key: \([^,]*\),.*/\1/p' "$log")
[ -n "$url" ] && [ -n "$key" ] || { echo "the mock did not start:"; cat "$log"; exit 1; }

start=$(date +%s)
"$venv/bin/st" --config-file .ci/schemathesis.toml run openapi/hero-public-api.yaml \
  --url "$url" -H "x-api-key: $key" -H "x-practice-group-id: 1" --checks all
echo "schemathesis: passed in $(($(date +%s) - start)) s"
