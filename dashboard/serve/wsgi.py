"""The WSGI entry point for gunicorn (see deploy/gunicorn.conf.py): `dashboard.serve.wsgi:app`.

gevent first, before redis or the app are imported. The relay (each web node
tails the stream itself), the access refresher and the collector start as
background tasks of the worker (`dashboard.start_node`). Workers (scheduler,
minutes, snapshots) run as their own services: `plenary worker`.
"""

from dashboard.serve.patching import patch_all

patch_all()

import sys  # noqa: E402

from gunicorn.arbiter import Arbiter  # noqa: E402

from dashboard import create_app, start_node  # noqa: E402
from dashboard.serve.refusals import refusal  # noqa: E402

try:
    app = create_app()
except Exception as exc:
    said = refusal(exc)
    if said is None:
        raise
    # One line, as `plenary run` says it; the worker's boot-error status stops gunicorn
    # (non-zero) rather than booting it again and again: compose or systemd restarts it.
    print(said, file=sys.stderr, flush=True)
    sys.exit(Arbiter.WORKER_BOOT_ERROR)
start_node(app)  # the same background tasks as `plenary run`, less the workers
