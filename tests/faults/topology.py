"""docker-compose.yml, run natively: each service's command and environment as the compose
file states them, its host names mapped to loopback ports, its images replaced by the
same programs installed here (redis-server, gunicorn, `plenary`, Debian's nginx)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.faults.harness import redis_binary
from tests.support import ROOT, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$`."""

    def one(match: re.Match[str]) -> str:
        name, how, rest = match.groups()
        if env.get(name):
            return env[name]
        if how == "?":
            raise KeyError(f"{name}: {rest}")
        return rest or ""

    return _VARIABLE.sub(one, value).replace("$$", "$")


@dataclass
class Topology:
    """The services of docker-compose.yml with a loopback port for each one that listens."""

    env: dict[str, str]
    dir: Path
    services: dict[str, Any] = field(default_factory=dict)
    ports: dict[str, list[int]] = field(default_factory=dict)
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)

    @classmethod
    def load(cls, env: dict[str, str], work: Path) -> Topology:
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        topology = cls(env, work)
        topology.services = {name: spec for name, spec in compose["services"].items()
                             if not spec.get("profiles")}  # the default profile
        for name, spec in topology.services.items():
            replicas = spec.get("deploy", {}).get("replicas", 1)
            if spec.get("expose") or spec.get("ports") or name == "redis":
                topology.ports[name] = [free_port() for _ in range(replicas)]
        return topology

    def address(self, name: str, index: int = 0) -> str:
        return f"127.0.0.1:{self.ports[name][index]}"

    def environment(self, name: str) -> dict[str, str]:
        """The service's environment as compose gives it, its host names made loopback."""
        spec = self.services[name]
        out = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for key, value in (spec.get("environment") or {}).items():
            text = interpolate(str(value), self.env)
            for other in self.ports:  # `redis:6379` -> the loopback port of `redis`
                text = re.sub(rf"//{re.escape(other)}:\d+", f"//{self.address(other)}", text)
            out[key] = text
        return out

    def command(self, name: str, index: int = 0) -> list[str]:
        """The service's command with its program installed here, on its loopback port."""
        argv = [interpolate(str(a), self.env) for a in self.services[name]["command"]]
        program, rest = argv[0], argv[1:]
        if program == "redis-server":
            return [redis_binary(), *rest, "--port", str(self.ports[name][index]),
                    "--bind", "127.0.0.1", "--dir", str(self.folder(f"{name}-{index}"))]
        if program == "gunicorn":
            return [str(Path(sys.executable).parent / "gunicorn"), *rest,
                    "--bind", self.address(name, index)]
        if program == "plenary":
            return [sys.executable, "-m", "dashboard.cli", *rest]
        raise AssertionError(f"service {name}: no native program for {program!r}")

    def folder(self, name: str) -> Path:
        path = self.dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, name: str, index: int = 0) -> subprocess.Popen[bytes]:
        """Start one replica of a service (its own session: a kill takes its children)."""
        log = open(self.dir / f"{name}-{index}.log", "ab")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            self.command(name, index), env=self.environment(name), cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        replicas = self.processes.setdefault(name, [])
        if index < len(replicas):
            replicas[index] = process
        else:
            replicas.append(process)
        return process

    def nginx_conf(self) -> Path:
        """The proxy's configuration file (mounted by compose) on loopback: its upstream
        host names become the loopback ports of their replicas, its port the proxy's."""
        spec = self.services["proxy"]
        source, target = spec["volumes"][0].split(":")[:2]
        assert target.startswith("/etc/nginx/conf.d/"), target  # a server-level include
        text = (ROOT / source).read_text()
        for name, ports in self.ports.items():
            text = re.sub(rf"^(\s*)server {re.escape(name)}:\d+ resolve(.*);$",
                          lambda m, p=ports: "\n".join(
                              f"{m.group(1)}server 127.0.0.1:{port}{m.group(2)};" for port in p),
                          text, flags=re.M)
        container_port = spec["ports"][0].rsplit(":", 1)[1]
        text = re.sub(rf"^(\s*)listen {container_port};$",
                      rf"\1listen {self.address('proxy')};", text, flags=re.M)
        text = re.sub(r"^\s*resolver .*;$", "", text, flags=re.M)  # no Docker DNS here
        prefix = self.folder("nginx")
        text = text.replace("/var/log/nginx/", f"{prefix}/")
        (prefix / "default.conf").write_text(text)
        temp = "\n".join(f"  {kind}_temp_path {prefix}/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        main = prefix / "nginx.conf"
        main.write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log info;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp}\n  include {prefix}/default.conf;\n}}\n")
        return main

    def start_proxy(self) -> subprocess.Popen[bytes]:
        conf = self.nginx_conf()
        prefix = conf.parent
        log = open(self.dir / "proxy.log", "ab")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.processes["proxy"] = [process]
        return process

    def stop_all(self) -> None:
        for replicas in self.processes.values():
            for process in replicas:
                if process.poll() is None:
                    try:
                        os.killpg(process.pid, 15)
                        process.wait(10)
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        os.killpg(process.pid, 9)
                        process.wait()


def wait_ok(url: str, timeout: float, what: str) -> float:
    """Seconds until `url` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} ({url}) not ready within {timeout} s")
