#!/usr/bin/env bash
# The README's test command: installs what the tests need (scripts/install-test-deps.sh),
# then runs every test, each benchmark once, and fails where a server the tests need is
# missing instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
export HUNT_REQUIRE_SERVERS=1
# --no-fail-fast: every test binary runs, so one run shows every failure (the exit
# status is still non-zero on any).
exec cargo test --all-targets --no-fail-fast "$@"
