"""The WSGI entry point for gunicorn (see deploy/gunicorn.conf.py): `dashboard.wsgi:app`.

gevent first, before redis or the app are imported. The relay (each web node
tails the stream itself) and the access refresher start as background tasks of the worker. Workers
(scheduler, minutes, snapshots) run as their own services: `plenary worker`.
"""

from dashboard.patching import patch_all

patch_all()

from dashboard import collector, create_app  # noqa: E402
from dashboard.extensions import socketio  # noqa: E402
from dashboard.web.access import run_access_refresher  # noqa: E402

app = create_app()
# The same background tasks as `plenary run` (dashboard.cli.serve), less the workers.
app.extensions["plenary"].relay.start()
socketio.start_background_task(run_access_refresher, app, socketio)
socketio.start_background_task(
    collector.run, socketio.sleep, app.extensions["plenary"].settings.gc_full_every_s)
