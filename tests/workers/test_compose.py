"""The compose file is valid Compose (the spec's JSON schema) and has the production shape."""

from __future__ import annotations

import json

import jsonschema
import yaml

from tests.support import ROOT

SCHEMA = ROOT / "deploy" / "compose-spec.schema.json"


def _validator() -> jsonschema.Draft201909Validator:
    # The file names draft 2019-09 by an old URL that jsonschema does not map; say it here.
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_the_compose_file_follows_the_compose_specification():
    errors = sorted(_validator().iter_errors(_compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_a_broken_compose_file_is_caught():
    broken = _compose()
    broken["services"]["web"]["healthcheck"]["intervall"] = "5s"
    assert list(_validator().iter_errors(broken))


def test_the_production_shape():
    services = _compose()["services"]
    assert {"redis", "web", "proxy", "scheduler", "minutes", "snapshots"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    redis_cmd = services["redis"]["command"]
    assert redis_cmd[redis_cmd.index("--appendfsync") + 1] == "always"
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    gunicorn = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    # gevent-websocket + origin check
    assert "dashboard.serve.gunicorn_worker.GunicornWorker" in gunicorn
    assert "workers = 1" in gunicorn
    assert "ports" not in services["web"]  # reached through the proxy, so it scales
    for worker in ("scheduler", "minutes", "snapshots"):
        assert services[worker]["command"] == ["plenary", "worker", worker]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
