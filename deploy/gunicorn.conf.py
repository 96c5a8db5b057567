"""gunicorn settings of the web service (compose `web`): `gunicorn -c deploy/gunicorn.conf.py`.

One gevent-websocket worker per container: every connection of the node is
a greenlet, and each web node tails the stream itself, so more capacity is
more containers (`docker compose up --scale web=N`), not more workers.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
wsgi_app = "dashboard.serve.wsgi:app"
# gevent-websocket, with a handler that refuses foreign origins before the upgrade.
worker_class = "dashboard.serve.gunicorn_worker.GunicornWorker"
workers = 1
# Websockets are long-lived: the worker heartbeat is what gunicorn watches, not requests.
timeout = 60
graceful_timeout = 20
keepalive = 75
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
