#!/bin/sh
# Try the newest releases of the libraries whose internals dashboard/live/seams.py uses:
# a scratch virtualenv with this checkout and those libraries upgraded past their pins,
# then the seam tests (the probe, and screens fed with each seam broken) and the fan-out's.
# Usage: scripts/try-latest.sh   (REDIS_URL as for the tests; else an embedded Valkey)
set -eu
cd "$(dirname "$0")/.."
venv="${TRY_LATEST_VENV:-$(mktemp -d)/venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q -e '.[test]'
"$venv/bin/pip" install -q --upgrade gevent gevent-websocket python-engineio python-socketio \
    Flask-SocketIO
"$venv/bin/pip" list 2>/dev/null | grep -iE '^(gevent|gevent-websocket|python-engineio|python-socketio|flask-socketio) '
"$venv/bin/python" -m pytest tests/seams tests/integration/test_fanout.py -q -p no:cacheprovider
echo "The seams hold on these releases: move the pins in pyproject.toml and the versions"
echo "named in dashboard/live/seams.py's docstring."
