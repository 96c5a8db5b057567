"""Typed settings read from the environment, each with a default and a description."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dashboard.domain.limits import Limits
from dashboard.serve.datadir import create_once, make_private, unusable
from dashboard.store.connection import check_url

MIN_SECRET_KEY = 32


class SettingsError(RuntimeError):
    """A setting from the environment is missing or malformed; the message names it."""


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    # Every number is bounded, and finite: `inf` passes a lower bound.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True,
                                      allow_inf_nan=False)

    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
        description="Redis (>= 7) or Valkey to use, e.g. redis://127.0.0.1:6379/0, or its "
        "Sentinels: redis+sentinel://[:password@]host:port[,host:port...]/<service>[/<db>]. "
        "Unset: an embedded Valkey is started under the data folder.",
    )
    min_replicas: int = Field(
        0,
        validation_alias=AliasChoices("PLENARY_MIN_REPLICAS", "min_replicas"),
        description="A command is acknowledged only once this many replicas have its "
        "events (Redis WAIT); else 503 `unavailable` (retry with the same command_id). "
        "See docs/reliability.md.",
        ge=0,
        le=10,
    )
    replica_timeout_ms: int = Field(
        1000,
        validation_alias=AliasChoices("PLENARY_REPLICA_TIMEOUT_MS", "replica_timeout_ms"),
        description="How long a command waits for PLENARY_MIN_REPLICAS replicas before "
        "it is answered 503 `unavailable`.",
        ge=10,
        le=10_000,
    )
    data_dir: Path = Field(
        Path("instance"),
        validation_alias=AliasChoices("PLENARY_DATA_DIR", "data_dir"),
        description="Folder for the embedded Valkey's data and the generated secret key.",
    )
    secret_key: str | None = Field(
        None,
        validation_alias=AliasChoices("SECRET_KEY", "secret_key"),
        description="Key that signs access links and cookies, at least 32 characters. "
        "Unset: generated once and kept in the data folder (0600).",
    )
    programme: Path | None = Field(
        None,
        validation_alias=AliasChoices("PLENARY_PROGRAMME", "programme"),
        description="Programme file (YAML or JSON). Unset: the bundled reference meeting.",
    )
    key_prefix: str = Field(
        "plenary",
        validation_alias=AliasChoices("PLENARY_KEY_PREFIX", "key_prefix"),
        description="Prefix of every Redis key, so several deployments can share a server.",
        pattern=r"^[A-Za-z0-9_.-]{1,40}$",
    )
    allowed_origins: str = Field(
        "",
        validation_alias=AliasChoices("PLENARY_ALLOWED_ORIGINS", "allowed_origins"),
        description="Comma-separated browser origins allowed besides the service's own "
        "(e.g. https://screens.example.org).",
    )
    base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("PLENARY_BASE_URL", "base_url"),
        description="Public address used in printed access links, "
        "http(s)://host[:port][/path]. Unset: http://<host>:<port> of `plenary run`.",
    )
    max_message_bytes: int = Field(
        65536,
        validation_alias=AliasChoices("PLENARY_MAX_MESSAGE_BYTES", "max_message_bytes"),
        description="Largest HTTP body or Socket.IO message accepted; larger ones are refused.",
        ge=1024,
        le=10 * 1024 * 1024,
    )
    ping_interval_s: int = Field(
        25,
        validation_alias=AliasChoices("PLENARY_PING_INTERVAL_S", "ping_interval_s"),
        description="Seconds between the server's pings to a Socket.IO client.",
        ge=1,
        le=300,
    )
    ping_timeout_s: int = Field(
        20,
        validation_alias=AliasChoices("PLENARY_PING_TIMEOUT_S", "ping_timeout_s"),
        description="Seconds a client has to answer a ping; past ping interval + timeout "
        "without an answer its connection is closed (a frozen screen's included).",
        ge=1,
        le=300,
    )
    socket_rate: float = Field(
        20.0,
        validation_alias=AliasChoices("PLENARY_SOCKET_RATE", "socket_rate"),
        description="Socket.IO events per second a client may send (burst: 2 seconds' worth).",
        gt=0,
        le=100_000,
    )
    max_queued_frames: int = Field(
        32,
        validation_alias=AliasChoices("PLENARY_MAX_QUEUED_FRAMES", "max_queued_frames"),
        description="States that may wait for one client that is not reading; past it (or "
        "past PLENARY_MAX_QUEUED_BYTES) the client is disconnected.",
        ge=2,
        le=10_000,
    )
    max_queued_bytes: int = Field(
        1 << 20,
        validation_alias=AliasChoices("PLENARY_MAX_QUEUED_BYTES", "max_queued_bytes"),
        description="Bytes of states that may wait for one client that is not reading.",
        ge=64 * 1024,
        le=1 << 30,
    )
    peer_hold_ms: float = Field(
        4.0,
        validation_alias=AliasChoices("PLENARY_PEER_HOLD_MS", "peer_hold_ms"),
        description="Milliseconds a node waits before sending screens a change another "
        "node or process made, so that one's answer to its sender goes out first on "
        "shared cores (0: at once).",
        ge=0,
        le=50,
    )
    command_rate: int = Field(
        20,
        validation_alias=AliasChoices("PLENARY_COMMAND_RATE", "command_rate"),
        description="Commands per second one access link may send, over HTTP and Socket.IO "
        "together, counted across every web node (in Redis).",
        ge=1,
        le=10_000,
    )
    system_command_rate: int = Field(
        200,
        validation_alias=AliasChoices("PLENARY_SYSTEM_COMMAND_RATE", "system_command_rate"),
        description="Commands per second the scheduler may send (expiries, overruns, notices).",
        ge=1,
        le=100_000,
    )
    max_announcements: int = Field(
        20,
        validation_alias=AliasChoices("PLENARY_MAX_ANNOUNCEMENTS", "max_announcements"),
        description="Active announcements one room shows at most; posting past it expires "
        "the oldest info ones, and is refused (409 `too_many`) when they are all urgent.",
        ge=1,
        le=200,
    )
    max_queue: int = Field(
        200,
        validation_alias=AliasChoices("PLENARY_MAX_QUEUE", "max_queue"),
        description="Requests waiting on one room's list of speakers at most; one more is "
        "refused (409 `too_many`).",
        ge=1,
        le=2000,
    )
    max_text_chars: int = Field(
        500,
        validation_alias=AliasChoices("PLENARY_MAX_TEXT_CHARS", "max_text_chars"),
        description="Characters of an announcement's text in each language at most (500 at "
        "the most); a longer one is refused (422 `invalid`).",
        ge=1,
        le=500,
    )
    max_name_chars: int = Field(
        120,
        validation_alias=AliasChoices("PLENARY_MAX_NAME_CHARS", "max_name_chars"),
        description="Characters of a speaker's name at most (120 at the most); a longer one "
        "is refused (422 `invalid`).",
        ge=1,
        le=120,
    )
    gc_full_every_s: float = Field(
        300.0,
        validation_alias=AliasChoices("PLENARY_GC_FULL_EVERY_S", "gc_full_every_s"),
        description="A web node collects all its cyclic garbage this often (seconds); "
        "the young generations as CPython does (dashboard/serve/collector.py).",
        ge=1,
        le=86_400,
    )
    snapshot_every: int = Field(
        1000,
        validation_alias=AliasChoices("PLENARY_SNAPSHOT_EVERY", "snapshot_every"),
        description="The snapshot worker saves the projected state every N events.",
        ge=10,
        le=1_000_000,
    )
    worker_min_idle_ms: int = Field(
        30_000,
        validation_alias=AliasChoices("PLENARY_WORKER_MIN_IDLE_MS", "worker_min_idle_ms"),
        description="A stream entry left unacknowledged this long (its worker died) is "
        "taken over by another worker of the same kind.",
        ge=100,
        le=86_400_000,
    )
    worker_max_deliveries: int = Field(
        5,
        validation_alias=AliasChoices("PLENARY_WORKER_MAX_DELIVERIES", "worker_max_deliveries"),
        description="After this many failed deliveries an entry is moved to the "
        "dead-letter stream <prefix>:{<meeting>}:dead.",
        ge=1,
        le=100,
    )
    notice_grace_s: float = Field(
        600.0,
        validation_alias=AliasChoices("PLENARY_NOTICE_GRACE_S", "notice_grace_s"),
        description="The scheduler posts a programme notice only this many seconds after "
        "its time at most (a replayed past meeting posts no stale notices).",
        ge=1,
        le=7 * 86_400,
    )
    proxy_count: int = Field(
        0,
        validation_alias=AliasChoices("PLENARY_PROXY_COUNT", "proxy_count"),
        description="Reverse proxies in front of the service whose X-Forwarded-For, -Proto, "
        "-Host, -Port and -Prefix are trusted (Werkzeug's ProxyFix). 0: those headers are "
        "ignored, as anyone can send them.",
        ge=0,
        le=5,
    )
    header_timeout_s: float = Field(
        10.0,
        validation_alias=AliasChoices("PLENARY_HEADER_TIMEOUT_S", "header_timeout_s"),
        description="A request's head (request line and headers) must arrive whole within "
        "this many seconds, else the connection is closed (408).",
        gt=0,
        le=300,
    )
    idle_timeout_s: float = Field(
        75.0,
        validation_alias=AliasChoices("PLENARY_IDLE_TIMEOUT_S", "idle_timeout_s"),
        description="A kept-alive connection is closed after this many seconds without a "
        "new request.",
        gt=0,
        le=3600,
    )
    body_timeout_s: float = Field(
        30.0,
        validation_alias=AliasChoices("PLENARY_BODY_TIMEOUT_S", "body_timeout_s"),
        description="Each read or write of a request's body or answer waits at most this "
        "many seconds (websockets: the Socket.IO ping bound instead).",
        gt=0,
        le=3600,
    )
    max_connections: int = Field(
        0,
        validation_alias=AliasChoices("PLENARY_MAX_CONNECTIONS", "max_connections"),
        description="Connections a web process holds at once; at the cap, those still "
        "waiting for a request head are closed first. 0: the open-file limit less an "
        "eighth (at least 384).",
        ge=0,
        le=1_000_000,
    )
    max_connections_per_address: int = Field(
        500,
        validation_alias=AliasChoices(
            "PLENARY_MAX_CONNECTIONS_PER_ADDRESS", "max_connections_per_address"),
        description="Connections one client address may hold at once (0: no cap). Not "
        "applied to loopback addresses, nor behind a proxy (PLENARY_PROXY_COUNT > 0).",
        ge=0,
        le=1_000_000,
    )
    run_workers: bool = Field(
        True,
        validation_alias=AliasChoices("PLENARY_RUN_WORKERS", "run_workers"),
        description="Whether `plenary run` also runs the background workers in-process.",
    )
    websocket_only: bool = Field(
        False,
        validation_alias=AliasChoices("PLENARY_WEBSOCKET_ONLY", "websocket_only"),
        description="Refuse Engine.IO long-polling (400 `websocket_only`): set by `plenary "
        "run --processes N` (N > 1), whose processes share no polling session.",
    )
    disable_seams: str = Field(
        "",
        validation_alias=AliasChoices("PLENARY_DISABLE_SEAMS", "disable_seams"),
        description="Library seams not to use, comma-separated (`fanout`: broadcasts go "
        "through python-socketio's emit; `ping`: engine.io pings each client from a "
        "greenlet of its own; `writer`: engine.io runs a writer greenlet per websocket), "
        "as when a seam's probe fails at start.",
        pattern=r"^((fanout|ping|writer)(,(fanout|ping|writer)){0,2})?$",
    )
    node_name: str = Field(
        "",
        validation_alias=AliasChoices("PLENARY_NODE_NAME", "node_name"),
        description="This web node's name in the fleet and the metrics. Unset: host:pid.",
        pattern=r"^[A-Za-z0-9_.:-]{0,64}$",
    )
    fleet_behind_s: float = Field(
        5.0,
        validation_alias=AliasChoices("PLENARY_FLEET_BEHIND_S", "fleet_behind_s"),
        description="A page showing an older version than its room's this long is `behind`.",
        gt=0, le=3600,
    )
    fleet_silent_s: float = Field(
        10.0,
        validation_alias=AliasChoices("PLENARY_FLEET_SILENT_S", "fleet_silent_s"),
        description="A page not heard from this long (seconds) is `silent`.",
        gt=0, le=3600,
    )
    fleet_gone_keep_s: float = Field(
        600.0,
        validation_alias=AliasChoices("PLENARY_FLEET_GONE_KEEP_S", "fleet_gone_keep_s"),
        description="A disconnected page stays listed as `gone` this long (seconds).",
        gt=0, le=86400,
    )
    max_fleet_per_node: int = Field(
        10000,
        validation_alias=AliasChoices("PLENARY_MAX_FLEET_PER_NODE", "max_fleet_per_node"),
        description="Pages one web node lists in the fleet; more connect but are not listed.",
        ge=1, le=1_000_000,
    )
    metrics_token: str | None = Field(
        None,
        validation_alias=AliasChoices("PLENARY_METRICS_TOKEN", "metrics_token"),
        description="A bearer token that may read GET /metrics (besides an admin's link). "
        "Unset: admin only.",
        min_length=16, max_length=200,
    )
    log_format: str = Field(
        "text",
        validation_alias=AliasChoices("PLENARY_LOG_FORMAT", "log_format"),
        description="`json`: one JSON line per command and per connection event.",
        pattern=r"^(text|json)$",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url_parses(cls, value: str | None) -> str | None:
        if value:
            check_url(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_an_address(cls, value: str | None) -> str | None:
        return check_base_url(value) if value else value

    @field_validator("data_dir", "programme", mode="before")
    @classmethod
    def _path_not_empty(cls, value: object) -> object:
        # An empty variable (`PLENARY_DATA_DIR=$DIR`, DIR unset) is the current folder.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must name a path, not an empty string (unset it for the default)")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_urls(cls, value: str) -> str:
        for origin in filter(None, (o.strip() for o in value.split(","))):
            if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise ValueError(f"{origin!r} is not an origin like https://host[:port]")
        return value

    @property
    def origins(self) -> list[str]:
        """The configured extra origins as a list."""
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def disabled_seams(self) -> frozenset[str]:
        """The seams PLENARY_DISABLE_SEAMS turns off."""
        return frozenset(filter(None, self.disable_seams.split(",")))

    @property
    def limits(self) -> Limits:
        """The bounds of the live state the rules are given."""
        return Limits(max_announcements=self.max_announcements, max_queue=self.max_queue,
                      max_text=self.max_text_chars, max_name=self.max_name_chars)

    @property
    def redis_timeout_s(self) -> float:
        """Socket timeout of the command path's connections: it must outlast a WAIT."""
        return max(2.0, self.replica_timeout_ms / 1000 + 1.0)

    @field_validator("secret_key")
    @classmethod
    def _key_is_long(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip()) < MIN_SECRET_KEY:
            raise ValueError(
                f"must be at least {MIN_SECRET_KEY} characters (an empty or short key lets "
                "anyone sign access links); unset it to have one generated in the data folder")
        return value

    @property
    def generated_key(self) -> bool:
        """Whether the secret key is the one generated in (and unique to) the data folder."""
        return self.secret_key is None

    def resolved_secret_key(self) -> str:
        """The secret key: from the environment, else generated once in the data folder
        (SettingsError when that file is empty or short)."""
        if self.secret_key is not None:
            return self.secret_key.strip()
        path = self.data_dir / "secret_key"
        try:
            make_private(self.data_dir)
            key = create_once(path, lambda: secrets.token_urlsafe(48)).strip()
        except OSError as exc:
            raise SettingsError(unusable(self.data_dir, exc)) from None
        except UnicodeDecodeError:
            key = "\0"
        if not key.isprintable():  # a file filled with zeros by a crash, say: no key at all
            raise SettingsError(
                f"the secret key in {path} is corrupt (it holds bytes that are not printable "
                "text): restore it from a backup to keep the access links, or delete it to "
                "have a new one generated (every access link changes), or set SECRET_KEY")
        if len(key) < MIN_SECRET_KEY:
            raise SettingsError(
                f"the secret key in {path} is {'empty' if not key else 'too short'} "
                f"(at least {MIN_SECRET_KEY} characters): delete the file to have a new "
                "one generated (every access link changes), or set SECRET_KEY")
        return key


def check_base_url(value: str) -> str:
    """A public address links can start with: http(s)://host[:port][/path], nothing after
    (without a scheme or host, every printed link and QR code would lead nowhere)."""
    try:
        parts = urlsplit(value)
        usable = (parts.scheme in ("http", "https") and bool(parts.hostname)
                  and (parts.port is None or parts.port > 0)
                  and not parts.query and not parts.fragment)
    except ValueError:  # an unclosed [IPv6 address, a port out of range
        usable = False
    if not usable:
        raise ValueError(f"{value!r} is not an address like https://host[:port][/path]")
    return value


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, failing with the variable's name."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = _env_name(str(err["loc"][0])) if err["loc"] else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("; ".join(problems)) from None


def _env_name(field: str) -> str:
    """The environment variable that sets a field (its first alias)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field


def markdown_table() -> str:
    """The settings as a Markdown table (the README's is generated by `plenary settings`)."""
    rows = ["| Variable | Default | What it sets |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = "" if info.default in (None, "") else f"`{info.default}`"
        rows.append(f"| `{_env_name(name)}` | {default} | {info.description} |")
    return "\n".join(rows) + "\n"
