"""`plenary`: run the service, print access links, run workers, export the record."""

from __future__ import annotations

import gc

# No collector passes while the service starts: importing the stack, then building the
# programme and the state folded from the stream, allocate a great deal and free next
# to nothing. `run` keeps collecting off until `serve` freezes what was built; every
# other command turns it back on before it starts.
gc.disable()

# Ctrl-C while the stack is imported ends the process as SIGTERM does, with no
# KeyboardInterrupt traceback (nothing has started yet); `run` and `worker` put their own
# stop in place.
import signal  # noqa: E402

signal.signal(signal.SIGINT, signal.SIG_DFL)

# gevent first: before redis, ssl or the app are imported anywhere.
from dashboard.serve.patching import patch_all  # noqa: E402

patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

import gevent  # noqa: E402
import redis  # noqa: E402

from dashboard.app import create_app, start_node  # noqa: E402
from dashboard.domain import ProgrammeError, load_programme  # noqa: E402
from dashboard.domain.programme import default_programme_path  # noqa: E402
from dashboard.serve.datadir import (  # noqa: E402
    ADDRESS_NAME,
    FolderBusy,
    record_address,
    recorded_address,
)
from dashboard.serve.embedded import EmbeddedValkey, running_url  # noqa: E402
from dashboard.serve.processes import process_count, serve_processes  # noqa: E402
from dashboard.serve.refusals import redis_line  # noqa: E402
from dashboard.serve.server import make_server, raise_open_file_limit  # noqa: E402
from dashboard.settings import (  # noqa: E402
    Settings,
    SettingsError,
    check_base_url,
    load_settings,
    markdown_table,
)
from dashboard.store.eventlog import EventLog, connect  # noqa: E402
from dashboard.store.minutes import export  # noqa: E402
from dashboard.web.access import ALL, ROLES, build_links, deployment_for, link  # noqa: E402
from dashboard.web.metrics import SHARED_DIR, reserve_files  # noqa: E402
from dashboard.web.services import services  # noqa: E402

# The command line is where the service is put together: the one module of dashboard
# that starts the workers.
from workers import run_worker, start_in_process  # noqa: E402

log = logging.getLogger("plenary")


def _settings() -> Settings:
    try:
        settings = load_settings()
        settings.resolved_secret_key()  # refuses an empty or short key, at once
    except SettingsError as exc:
        sys.exit(f"plenary: configuration: {exc}")
    return settings


def _deployment(settings: Settings) -> str:
    return deployment_for(settings.generated_key, settings.key_prefix,
                          _programme(settings).meeting.id)


def _base_url(settings: Settings, given: str | None) -> str:
    """--base-url, else PLENARY_BASE_URL, else the address `plenary run` listens on."""
    return (given or settings.base_url or recorded_address(settings.data_dir)
            or "http://127.0.0.1:5000")


def _unreachable(exc: redis.RedisError) -> NoReturn:
    """Stop with one line saying why Redis could not be used, not a traceback: a process
    started before its Redis (or with a wrong REDIS_URL) is started again by whatever
    supervises it (compose, systemd, the parent of `--processes`)."""
    sys.exit(redis_line(exc))


def _programme(settings: Settings) -> Any:
    try:
        return load_programme(settings.programme or default_programme_path())
    except ProgrammeError as exc:
        sys.exit(f"plenary: programme: {exc}")


@contextlib.contextmanager
def _store_url(settings: Settings, what: str) -> Iterator[str]:
    """REDIS_URL; else the embedded server of the `plenary run` alive on this data folder;
    else the folder's embedded server started for this command alone, and stopped after."""
    if settings.redis_url:
        yield settings.redis_url
        return

    for _ in range(3):  # a run may be starting or stopping meanwhile
        url = running_url(settings.data_dir)
        if url is not None:
            yield url
            return
        embedded = EmbeddedValkey(settings.data_dir)
        try:
            url = embedded.start(what=what)
        except FolderBusy:
            time.sleep(1.0)
            continue
        except RuntimeError as exc:
            sys.exit(f"plenary: embedded Valkey: {exc}")
        try:
            yield url
        finally:
            embedded.stop()
        return
    sys.exit(f"plenary: the data folder {settings.data_dir} is busy and its server does not "
             "answer; try again")


@contextlib.contextmanager
def _access_hash(settings: Settings, what: str) -> Iterator[tuple[Any, str]]:
    """(client, key) of the meeting's access generations."""

    with _store_url(settings, what) as url:
        client = connect(url)
        try:
            yield client, EventLog(client, _programme(settings).meeting.id,
                                   settings.key_prefix).key("access")
        finally:
            client.close()


def _read_generations(client: Any, key: str) -> dict[str, int] | None:
    """Every generation in the access hash, or None when Redis cannot be read."""
    try:
        return {k.decode(): int(v) for k, v in client.hgetall(key).items()}
    except redis.RedisError:
        return None


def _generations(settings: Settings) -> dict[str, int] | None:
    """The current generation of every revoked role:room, or None when it cannot be read."""
    with _access_hash(settings, "links") as (client, key):
        return _read_generations(client, key)


def _links(settings: Settings, base_url: str) -> list[dict[str, str]]:
    programme = _programme(settings)
    secret = settings.resolved_secret_key()
    return _build_links(base_url, secret, programme, _generations(settings),
                        _deployment(settings))


def _build_links(
    base_url: str, secret: str, programme: Any, generations: dict[str, int] | None,
    deployment: str,
) -> list[dict[str, str]]:
    if generations is None:
        print("plenary: could not reach Redis to check for revoked links; these are the "
              "links of generation 0 (wrong for any role and room revoked since)",
              file=sys.stderr)
    return build_links(base_url, secret, [r.id for r in programme.rooms], generations,
                       deployment, delegations=[d.code for d in programme.delegations])


def _print_links(links: list[dict[str, str]], as_json: bool) -> None:
    if as_json:
        for link in links:
            print(json.dumps(link, ensure_ascii=False))
        return
    for link in links:
        who = link["role"] if link["room"] == "*" else f"{link['role']} {link['room']}"
        if link["role"] == "screen" and link["room"] == "*":
            who = "overview screen"
        print(f"  {who:<28} {link['url']}")


def cmd_links(args: argparse.Namespace) -> None:
    """Print the access links (one JSON object a line with --json)."""
    settings = _settings()
    _print_links(_links(settings, _base_url(settings, args.base_url)), args.json)


def cmd_revoke(args: argparse.Namespace) -> None:
    """Revoke every link of a role and room (open sockets close within a second or so)."""
    settings = _settings()
    programme = _programme(settings)
    if args.role not in ROLES:
        sys.exit(f"plenary: role must be one of {', '.join(ROLES)}")
    if args.role == "delegation":
        if args.room not in programme.delegations_by_code:
            sys.exit(f"plenary: no delegation {args.room!r} in the programme")
    elif args.room != ALL and args.room not in {r.id for r in programme.rooms}:
        sys.exit(f"plenary: no room {args.room!r} in the programme")
    with _access_hash(settings, "revoke") as (client, key):
        try:
            generation = int(client.hincrby(key, f"{args.role}:{args.room}", 1))
        except redis.RedisError as exc:
            _unreachable(exc)
    new = link(_base_url(settings, args.base_url), settings.resolved_secret_key(), args.role,
               args.room, generation, _deployment(settings))
    _print_links([new], args.json)


def _stop_starting(signum: int, frame: Any) -> NoReturn:
    """SIGTERM or Ctrl-C before the node serves: stop in one line, not a traceback. A
    SystemExit reaches the main greenlet even when it lands in gevent's hub, and its way
    out runs the `finally` that stops the embedded Valkey."""
    print(f"plenary: stopped by {signal.Signals(signum).name} while starting",
          file=sys.stderr, flush=True)
    raise SystemExit(0)


def cmd_run(args: argparse.Namespace) -> None:
    """Run the whole service (web, relay, workers): in this process, or in --processes N."""
    # Until `serve` (or the parent of --processes) puts its own stop in place.
    signal.signal(signal.SIGTERM, _stop_starting)
    signal.signal(signal.SIGINT, _stop_starting)
    # Collecting stays off while starting (see the top of this module): `serve`
    # freezes what was built, once the server listens, and turns collecting back
    # on, full passes on dashboard.serve.collector's schedule.
    gc.disable()
    try:
        raise_open_file_limit()  # every screen is an open socket
        settings = _settings()
        _programme(settings)  # a bad programme stops us before anything starts
        try:
            count = process_count(args.processes)
        except ValueError as exc:
            sys.exit(f"plenary: {exc}")
        if args.listen_fd is not None:  # one process of a `--processes N` run
            serve(settings, args.host, args.port, listener=socket.socket(fileno=args.listen_fd),
                  index=args.process_index)
            return
        embedded = None
        if not settings.redis_url and settings.min_replicas:
            sys.exit(f"plenary: configuration: PLENARY_MIN_REPLICAS is "
                     f"{settings.min_replicas} but the embedded Valkey has no replica, so "
                     "every command would be refused: set REDIS_URL to a Redis with "
                     "replicas (docs/deploy.md, Sentinel), or unset PLENARY_MIN_REPLICAS")
        if not settings.redis_url:
            embedded = EmbeddedValkey(settings.data_dir)
            try:
                url = embedded.start()
            except FolderBusy as exc:
                sys.exit(f"plenary: {exc}")
            except RuntimeError as exc:
                sys.exit(f"plenary: embedded Valkey: {exc}")
            log.info("embedded Valkey on 127.0.0.1:%s (data in %s)", embedded.port, embedded.dir)
            # it exits when its disk is full: started again until space is freed
            threading.Thread(target=embedded.watch, name="valkey-watch", daemon=True).start()
            settings = settings.model_copy(update={"redis_url": url})
        try:
            if count == 1:
                serve(settings, args.host, args.port, embedded)
            else:
                gc.enable()
                serve_processes(settings, args.host, args.port, count, embedded,
                                _shown_host(args.host))
        finally:
            if embedded is not None:
                embedded.stop()
    finally:
        gc.enable()


def _shown_host(host: str) -> str:
    """The host as a URL names it: this machine for every address, an IPv6 one bracketed
    (http://::1:5000 is no URL, and the links printed and recorded would not open)."""
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def serve(settings: Settings, host: str, port: int, embedded: Any = None,
          listener: socket.socket | None = None, index: int | None = None) -> None:
    """Build the app, start its background tasks, listen, print the links and serve until
    stopped (`listener` and `index`: process `index` of a `--processes` run)."""
    shown = _shown_host(host)
    listening = f"http://{shown}:{port}"
    base = settings.base_url or listening
    # One of the processes of --processes: the folder its parent gave it (a node alone
    # never reads the variable: a folder of the operator's holds other processes' figures).
    shared = os.environ.get(SHARED_DIR) if index is not None else None
    if shared:
        try:
            reserve_files(shared)
        except OSError as exc:  # its parent starts it again keeping its figures to itself
            sys.exit(f"plenary: web process {index}: no room for its metrics in {shared}: "
                     f"{exc.strerror or exc}")
    try:
        app = create_app(settings)  # reads the state from Redis
    except redis.RedisError as exc:
        _unreachable(exc)
    app.config["PLENARY_PUBLIC_URL"] = base.rstrip("/")
    server = make_server(app, host, port, listener=listener)
    try:
        server.init_socket()  # bind now: a port taken stops us before anything runs
    except OSError as exc:  # the port is taken, or the host is not this machine's
        sys.exit(f"plenary: cannot listen on {host}:{port}: {exc.strerror or exc}")
    parts = services(app)
    if shared:
        parts.metrics.share_in(shared)
    start_node(app)
    workers: list[Any] = []
    if settings.run_workers:
        workers = start_in_process(app)

    def stop(*_: Any) -> None:
        parts.relay.stop()
        for worker in workers:
            worker.stop()
        server.stop(timeout=2)

    # Listen now: /readyz (and everything else) answers while the links are printed,
    # from the app's own programme and Redis client rather than new ones.
    server.start()
    # In a greenlet of its own: a plain handler runs where the signal lands, often the
    # event loop, where server.stop cannot wait for the open connections.
    handlers = [gevent.signal_handler(number, stop)
                for number in (signal.SIGTERM, signal.SIGINT)]
    if index is not None:
        print(f"web process {index} (pid {os.getpid()}) serving on {listening}"
              f"{' with the workers' if workers else ''}", flush=True)
    if not index:  # one process says it all: this one, or process 0 of several
        try:
            record_address(settings.data_dir, listening)  # what `plenary links` prints
        except OSError as exc:  # by default; a full disk must not stop a node that serves
            log.warning("cannot record the address in %s (%s): `plenary links` may print "
                        "another address unless given --base-url",
                        settings.data_dir / ADDRESS_NAME, exc.strerror or exc)
        if embedded is not None:
            embedded.lock.note({"pid": os.getpid(), "what": "run", "url": listening})
        print(f"Plenary Live: {parts.meeting.programme.meeting.title.en}", flush=True)
        print(f"Serving on {listening} (state at {parts.meeting.version})", flush=True)
        print("Access links:", flush=True)
        generations = _read_generations(parts.redis, parts.access.key)
        _print_links(
            _build_links(base, settings.resolved_secret_key(), parts.meeting.programme,
                         generations, app.config["PLENARY_DEPLOYMENT"]),
            as_json=False,
        )
        sys.stdout.flush()
    # What was built so far (modules, programme, state) lives as long as the process:
    # keep it out of the collector's scans, whose pauses would land on commands. From
    # here CPython collects the young generations and the collector task (started
    # by start_node) the whole heap.
    gc.freeze()
    gc.enable()
    if server.started:  # not stopped by a signal while the links were printed
        server.serve_forever()
    for handler in handlers:
        handler.cancel()


def cmd_worker(args: argparse.Namespace) -> None:
    """Run one background worker (or all) as its own process."""
    settings = _settings()
    if not settings.redis_url:
        sys.exit("plenary: worker needs REDIS_URL (the embedded server runs inside `plenary run`)")
    run_worker(settings, args.name)


def cmd_export(args: argparse.Namespace) -> None:
    """Write the minutes (record of speeches) as CSV or JSON."""
    settings = _settings()
    with _store_url(settings, "export") as url:
        try:
            text = export(settings.model_copy(update={"redis_url": url}), args.format)
        except redis.RedisError as exc:
            _unreachable(exc)
    sys.stdout.write(text)


def cmd_settings(args: argparse.Namespace) -> None:
    """Print the configuration variables as a Markdown table."""
    sys.stdout.write(markdown_table())


def _host(given: str) -> str:
    """--host: an address to listen on; an empty one (an unset variable, `--host "$HOST"`)
    would listen on every address and print links with no host in them."""
    if not given.strip():
        raise argparse.ArgumentTypeError(
            "must name an address (0.0.0.0 or :: for every one), not an empty string")
    return given


def _base_url_option(given: str) -> str:
    """--base-url: an address links can start with, as PLENARY_BASE_URL."""
    try:
        return check_base_url(given)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(given: str) -> int:
    """--port: a TCP port a server can name in its links (not 0, "any free one")."""
    try:
        port = int(given)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a number from 1 to 65535, not {given!r}")
    return port


def main(argv: Sequence[str] | None = None) -> None:
    """The `plenary` command."""
    parser = argparse.ArgumentParser(prog="plenary", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the service (embedded Valkey unless REDIS_URL is set)")
    run.add_argument("--host", type=_host, default="127.0.0.1")
    run.add_argument("--port", type=_port, default=5000)
    run.add_argument("--processes", default="1", metavar="N|auto",
                     help="web processes serving the port (auto: one per core; default 1; at "
                          "most twice the cores); with more than one, Socket.IO clients "
                          "must use websocket")
    # how the parent of a --processes run starts each of its processes
    run.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    run.add_argument("--process-index", type=int, default=0, help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)
    links = sub.add_parser("links", help="print the access links")
    links.add_argument("--json", action="store_true", help="one JSON object a line")
    links.add_argument("--base-url", type=_base_url_option,
                       help="public address of the service")
    links.set_defaults(func=cmd_links)
    revoke = sub.add_parser("revoke", help="revoke every link of a role and room")
    revoke.add_argument("role", help="admin, chair, staff, screen or delegation")
    revoke.add_argument("room", help='a room id, "*" for every room, or a delegation\'s code')
    revoke.add_argument("--json", action="store_true", help="print the new link as JSON")
    revoke.add_argument("--base-url", type=_base_url_option,
                       help="public address of the service")
    revoke.set_defaults(func=cmd_revoke)
    worker = sub.add_parser("worker", help="run a background worker")
    worker.add_argument("name", choices=["scheduler", "minutes", "snapshots", "all"])
    worker.set_defaults(func=cmd_worker)
    export = sub.add_parser("export", help="print the minutes")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.set_defaults(func=cmd_export)
    sub.add_parser("settings", help="print the configuration variables").set_defaults(
        func=cmd_settings
    )
    args = parser.parse_args(argv)
    if args.func is not cmd_run:
        gc.enable()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.func is cmd_run:
        args.func(args)
        return
    try:
        args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # `plenary links | head -3`: the reader has what it wanted. No traceback, and none
        # from the interpreter's own flush at exit either (Python's documented recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
