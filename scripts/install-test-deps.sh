#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, where it is missing: redis-server (the
# redis strategy's tests start their own servers), chromium (the HTML report is checked
# in a headless browser), iproute2 (the cross-host test builds network namespaces),
# postgresql (the postgres strategy's tests run initdb and pg_ctl in folders of their own;
# its binaries are looked for in /usr/lib/postgresql/*/bin, then on PATH),
# rabbitmq-server (the rabbitmq strategy's tests start one node of their own in a
# temporary folder; looked for in /usr/lib/rabbitmq/bin, then on PATH).
# Debian/Ubuntu, with apt-get; as root, or through sudo. Starts nothing.
set -euo pipefail
# The celery, celery-reliable and rq strategies' virtual environment (.venv).
"$(dirname "$0")/install-python-deps.sh"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
have_postgres() {
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && return 0
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}
have_postgres || need+=(postgresql)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
if [ ${#need[@]} -eq 0 ]; then
    echo "install-test-deps: redis-server, chromium, ip, PostgreSQL's initdb and pg_ctl, and rabbitmq-server are installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: missing ${need[*]}, and there is no apt-get here: install them with your package manager" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-test-deps: run as root (or install sudo) to install ${need[*]}" >&2; exit 1; }
    sudo=sudo
fi
echo "install-test-deps: installing ${need[*]}"
# Debian's redis-server, postgresql and rabbitmq-server packages would start system services; the tests start their own
# servers and nothing else may run, so services are kept from starting while it
# installs (policy-rc.d, Debian's switch for that), unless a policy is already in place.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
