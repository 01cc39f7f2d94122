#!/usr/bin/env bash
# The test command (`make test`, and CI): lint, then every test — unit, integration against the real
# engine started once for the session, PostgreSQL started by the tests, and real Chromium.
set -uo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check . || exit 1
.venv/bin/lint-imports --no-cache || exit 1
.venv/bin/pytest -p no:cacheprovider --timeout=600 "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "test: pytest collected no tests — that is a failure, not a pass" >&2
  exit 1
fi
exit $status
