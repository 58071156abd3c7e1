#!/usr/bin/env bash
# Run the test suite with the project's virtual environment; exit code 5 ("no tests collected")
# only happens when a filter selects nothing, which is not a failure of the code.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
if [ -z "${SKIP_STATIC:-}" ]; then
  "$BIN/ruff" check bot tests bench || exit 1
  "$BIN/ruff" format --check bot tests bench || exit 1
  "$BIN/mypy" || exit 1
fi
"$BIN/python" -m pytest --cov=bot --cov-report=term "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests for this selection"
  exit 0
fi
exit "$status"
