#!/usr/bin/env bash
# The test command (`make test`, and CI): lint, then every test — unit, integration against the real
# engine started once for the session, PostgreSQL started by the tests, and real Chromium.
#
# Without arguments the suite runs as two lanes at the same time: the tests that use the session's engine
# (marked `engine`; they mostly wait on the engine and its workers) followed by the cluster tests (`cluster`:
# PostgreSQL, engine nodes and Prefect of their own), and all the others, including the other tests that start
# engines of their own (`own_engine`: the demo, backup). The cluster and other tests refuse to start the
# session's engine, so a missing marker is a failure, not a second engine. Each process has its own var/, ports and
# Prefect home. With arguments (`bash scripts/test.sh tests/ledger -k lock`) pytest
# runs once with them, as before.
set -uo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check . || exit 1
.venv/bin/lint-imports --no-cache || exit 1

PYTEST=(.venv/bin/pytest -p no:cacheprovider --timeout=600)

# pytest exits 5 when it collected nothing: for a test command that is a failure, not a pass.
checked() {
  local status=$1 what=$2
  if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests ($what) — that is a failure, not a pass" >&2
    return 1
  fi
  return "$status"
}

if [ $# -gt 0 ]; then
  "${PYTEST[@]}" "$@"
  checked $? "$*"
  exit $?
fi

others_log=$(mktemp -t smartfin-tests-XXXXXX.log)
cluster_log=$(mktemp -t smartfin-cluster-XXXXXX.log)
SMARTFIN_TEST_WITHOUT_ENGINE=1 "${PYTEST[@]}" -m "(not engine or own_engine) and not cluster" >"$others_log" 2>&1 &
others=$!
trap 'kill "$others" 2>/dev/null; rm -f "$others_log" "$cluster_log"' EXIT

echo "test: the tests on the session's engine (the others run at the same time; their output follows)"
"${PYTEST[@]}" -m "engine and not own_engine"
checked $? "engine tests"
engine_status=$?

# after the engine tests, not beside them: three suites at once overload two cores and browser steps time out
SMARTFIN_TEST_WITHOUT_ENGINE=1 "${PYTEST[@]}" -m "cluster" >"$cluster_log" 2>&1
checked $? "cluster tests"
cluster_status=$?

wait "$others"
checked $? "tests without the engine"
others_status=$?
echo
echo "test: the other tests (no session engine; demo and backup start their own)"
cat "$others_log"

echo
echo "test: the cluster tests (PostgreSQL, two engine nodes, the balancer, Prefect; mostly waiting on them)"
cat "$cluster_log"

echo
echo "test: engine tests exit $engine_status, tests without the engine exit $others_status, cluster tests exit $cluster_status"
[ "$engine_status" -eq 0 ] && [ "$others_status" -eq 0 ] && [ "$cluster_status" -eq 0 ]
