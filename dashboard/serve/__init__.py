"""Process concerns: the WSGI server, the gunicorn worker, the embedded Valkey, gevent
patching and the collector schedule."""
