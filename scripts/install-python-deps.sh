#!/usr/bin/env bash
# Makes the virtual environment the celery, celery-reliable and rq strategies run in:
# .venv at the repository's root (gitignored), with python/requirements.txt installed.
# hunt looks for .venv/bin/python there, or for the python HUNT_PYTHON names.
# Uses Debian's /usr/bin/python3 (not a pyenv shim on PATH: its start is slow); installs
# python3-venv with apt-get where the venv module is missing. Starts nothing.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
py=/usr/bin/python3
if [ ! -x "$py" ]; then
    echo "install-python-deps: $py is missing: install Debian's python3 (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || { echo "install-python-deps: $py has no venv module, and there is no apt-get here: install python3-venv" >&2; exit 1; }
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "install-python-deps: run as root (or install sudo) to install python3-venv" >&2; exit 1; }
        sudo=sudo
    fi
    echo "install-python-deps: installing python3-venv"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/python/requirements.txt"
echo "install-python-deps: $venv has $(cd "$root" && "$venv/bin/python" -c 'import celery, rq, redis; print(f"celery {celery.__version__}, rq {rq.__version__}, redis {redis.__version__}")')"
