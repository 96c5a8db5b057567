"""Promise 9: hypothesis sends over 10,000 malformed or hostile command payloads over
HTTP, and hundreds over a real Socket.IO socket: no answer is a 5xx, every refused one
leaves the state as it was, and the relay still pushes afterwards."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
import socketio
import websocket
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard.domain import COMMAND_TYPES
from dashboard.live import json_fast
from tests.conftest import SECRET
from tests.support import delete_keys

# (examples, payloads per example): a batch per example keeps hypothesis's own cost low
HTTP_EXAMPLES = {"shaped": (600, 10), "anything": (500, 5), "raw": (1500, 1)}
SOCKET_EXAMPLES = int(__import__("os").environ.get("SOCKET_EXAMPLES", "400"))
ROOMS = ["plenario", "gt-cancillerias", "gt-seguridad", "*", "", "../etc", "plenario\x00"]
FIELDS = ["room", "session_id", "delegation", "speaker_name", "kind", "entry_id", "position",
          "seconds", "text", "level", "rooms", "expires_at", "id", "until", "expected_version",
          "command_id", "type", "__proto__", "constructor"]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from([
        "<script>alert(1)</script>", "'; DROP TABLE x; --", "{{7*7}}", "${jndi:ldap://x}",
        "\u202e\u0000\ud7ff", "A" * 70, "9" * 400, "-1", "0-0", "99999999999999999999-1",
        "1-1-1", "%s%s%n", "\\u0000", "plenario", "PAN", "speech", "*", "NaN",
    ]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), hostile_text,
)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                     st.dictionaries(hostile_text, inner, max_size=5)),
    max_leaves=20,
)
small_values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(hostile_text, scalars, max_size=3))
shaped = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(sorted(COMMAND_TYPES)), hostile_text)},
    optional={"room": st.one_of(st.sampled_from(ROOMS), small_values),
              **{f: small_values for f in FIELDS if f not in ("type", "room")}},
)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


class Probe:
    """Sends one payload as an admin and checks the contract's promises for it."""

    def __init__(self, app: Any) -> None:
        from dashboard.web.access import make_token

        self.app, self.client = app, app.test_client()
        self.meeting = app.extensions["plenary"].meeting
        admin = make_token("admin", "*", SECRET, deployment=app.config["PLENARY_DEPLOYMENT"])
        self.headers = {"Authorization": f"Bearer {admin}",
                        "Content-Type": "application/json"}
        self.count = 0
        self.statuses: dict[int, int] = {}

    def post(self, raw: bytes, headers: dict[str, str] | None = None) -> None:
        before = self.meeting.version
        r = self.client.post("/api/commands", data=raw, headers=headers or self.headers)
        self.count += 1
        self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (raw[:300], r.get_data()[:300])
        body = r.get_json()
        assert isinstance(body, dict), raw[:300]
        if r.status_code != 200:
            assert set(body) == {"error"} and isinstance(body["error"]["code"], str)
            assert self.meeting.version == before, f"refused {raw[:200]!r} changed the state"


@pytest.fixture(scope="module")
def probe(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from dashboard import create_app
    from dashboard.settings import load_settings

    prefix = f"fuzz{uuid.uuid4().hex[:10]}"  # this module's own: deleted afterwards
    app = create_app(load_settings(
        redis_url=redis_url, key_prefix=prefix, secret_key=SECRET, run_workers=False,
        data_dir=tmp_path_factory.mktemp("fuzz")))
    # open every sitting's room so that more commands get past the first check
    p = Probe(app)
    for session in app.extensions["plenary"].meeting.programme.sessions:
        p.client.post("/api/commands", headers=p.headers, json={
            "type": "session.open", "room": session.room, "session_id": session.id})
    yield p
    delete_keys(redis_url, f"{prefix}:*")
    total = p.count
    print(f"\nHTTP fuzz: {total} payloads, statuses {dict(sorted(p.statuses.items()))}")


def fuzz_settings(n: int) -> Any:
    return settings(max_examples=n, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))


@pytest.mark.timeout(600)
def test_command_shaped_payloads_over_http(probe):
    examples, batch = HTTP_EXAMPLES["shaped"]

    @fuzz_settings(examples)
    @given(bodies=st.lists(shaped, min_size=batch, max_size=batch))
    def run(bodies: list[dict[str, Any]]) -> None:
        for body in bodies:
            probe.post(json_bytes(body))

    run()


@pytest.mark.timeout(600)
def test_any_json_over_http(probe):
    examples, batch = HTTP_EXAMPLES["anything"]

    @fuzz_settings(examples)
    @given(bodies=st.lists(json_values, min_size=batch, max_size=batch))
    def run(bodies: list[Any]) -> None:
        for body in bodies:
            probe.post(json_bytes(body))

    run()


@pytest.mark.timeout(600)
def test_raw_bytes_and_headers_over_http(probe):
    @fuzz_settings(HTTP_EXAMPLES["raw"][0])
    @given(raw=st.binary(max_size=300), auth=st.one_of(st.none(), hostile_text.filter(
               lambda a: not set(a) & set("\r\n\x00"))),
           ctype=st.sampled_from(["application/json", "text/plain", "multipart/form-data",
                                  "application/x-www-form-urlencoded", ""]))
    def run(raw: bytes, auth: str | None, ctype: str) -> None:
        headers = dict(probe.headers, **{"Content-Type": ctype})
        if auth is not None:
            headers["Authorization"] = auth.encode("utf-8", "replace").decode("latin-1")
        probe.post(raw, headers)

    run()


def test_enough_http_payloads_were_sent(probe):
    assert probe.count >= 10_000


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_payloads_over_a_real_socket(redis_url, prefix, tmp_path, record_property):
    from tests.faults.harness import node, programme_of, rooms_with_sittings

    server = node(redis_url, tmp_path / "node", prefix, PLENARY_SOCKET_RATE="100000")
    server.start()
    sio = socketio.Client()
    try:
        room, session = rooms_with_sittings(programme_of(server))[0]
        admin = server.token("admin")
        server.command(admin, {"type": "session.open", "room": room, "session_id": session})
        sio.connect(server.url, auth={"token": admin}, transports=["websocket"])
        counts = {"sent": 0, "refused": 0}

        def version() -> str:
            return str(requests.get(f"{server.url}/api/rooms/{room}", timeout=5, headers={
                "Authorization": f"Bearer {admin}"}).json()["version"])

        @fuzz_settings(SOCKET_EXAMPLES)
        @given(event=st.sampled_from(["command", "command", "command", "subscribe"]),
               body=st.one_of(shaped, json_values))
        def run(event: str, body: Any) -> None:
            try:  # what is not strict JSON goes as raw frames below instead
                json.dumps(body, allow_nan=False)
                json_fast.dumps(body)  # this process's packets may go through orjson
            except (TypeError, ValueError):
                return
            if isinstance(body, dict) and body.get("room") == room:
                body = {**body, "room": "gt-seguridad"}  # keep the watched room still
            before = version()
            ack = sio.call(event, body, timeout=5)
            counts["sent"] += 1
            assert isinstance(ack, dict) and "ok" in ack, ack
            if not ack["ok"]:
                counts["refused"] += 1
                assert ack["error"]["code"] not in ("internal", "error"), ack
            assert version() == before or (event == "command" and ack["ok"])

        run()
        log = server.log_path.read_text()
        assert "Traceback" not in log, log[log.index("Traceback") - 300:][:3000]
        # garbage at the Engine.IO / Socket.IO framing level
        ws_url = server.socket_url
        for frame in ["4", "42", "42[", "42[\"command\"", "421[\"command\",{}", "4x", "9",
                      "40{\"token\":5}", "42[\"\\ud800\"]", "43[]", "46", "2probe" * 1000,
                      b"\x00\xff\x00", "421[\"command\",NaN]",
                      "421[\"command\",{\"type\":\"timer.extend\",\"seconds\":1e400}]",
                      "421[\"command\",{\"type\":\"speaker.move\",\"room\":\"gt-seguridad\","
                      "\"entry_id\":\"e1\",\"position\":184467440737095516160}]",
                      "421[\"subscribe\",{\"room\":{\"$gt\":\"\"}}]",
                      "42" + "[" * 5000 + "]" * 5000,
                      ("text", '42["shown",{"version":"\xff\xfe"}]'.encode("latin-1"))]:
            ws = websocket.create_connection(ws_url, origin=server.url, timeout=5)
            ws.recv()
            ws.send("40" + json.dumps({"token": admin}))
            ws.recv()
            if isinstance(frame, tuple):  # a text frame that is not UTF-8: the server closes
                ws.send(frame[1], opcode=websocket.ABNF.OPCODE_TEXT)
                opcode, _ = ws.recv_data(control_frame=True)
                while opcode != websocket.ABNF.OPCODE_CLOSE:  # (pings may come first)
                    opcode, _ = ws.recv_data(control_frame=True)
                ws.shutdown()
                continue
            if isinstance(frame, bytes):
                ws.send_binary(frame)
            else:
                ws.send(frame)
            time.sleep(0.05)
            ws.shutdown()
        # the server and its relay live on: a screen still gets the next state
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        screen = socketio.Client()
        got: list[dict] = []
        screen.on("state", got.append)
        screen.connect(server.url, auth={"token": server.token("screen", room)},
                       transports=["websocket"])
        screen.call("subscribe", {"room": room}, timeout=5)
        answer = server.command(admin, {"type": "speaker.add", "room": room,
                                        "delegation": "PAN"}).json()
        deadline = time.monotonic() + 5
        while not any(s["version"] == answer["version"] for s in got):
            assert time.monotonic() < deadline, "the relay stopped pushing"
            time.sleep(0.02)
        screen.disconnect()
        # python-socketio logs undecodable frames and drops them; our handlers never fail
        log = server.log_path.read_text()
        assert "socket event failed" not in log and "unhandled error" not in log
        record_property("socket_payloads", counts["sent"])
        print(f"\nSocket.IO fuzz: {counts['sent']} payloads, {counts['refused']} refused")
    finally:
        if sio.connected:
            sio.disconnect()
        server.stop()
