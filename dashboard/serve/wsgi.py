"""The WSGI entry point for gunicorn (see deploy/gunicorn.conf.py): `dashboard.serve.wsgi:app`.

gevent first, before redis or the app are imported. The relay (each web node
tails the stream itself), the access refresher and the collector start as
background tasks of the worker (`dashboard.start_node`). Workers (scheduler,
minutes, snapshots) run as their own services: `plenary worker`.
"""

from dashboard.serve.patching import patch_all

patch_all()

from dashboard import create_app, start_node  # noqa: E402

app = create_app()
start_node(app)  # the same background tasks as `plenary run`, less the workers
