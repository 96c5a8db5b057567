"""The fleet's records in Redis: heartbeats noted, then written together by `flush`."""

from __future__ import annotations

import time

import redis

from dashboard.store.fleet import Fleet, FleetTimes, Hello


def fleet(redis_url: str, prefix: str, node: str = "n1") -> Fleet:
    return Fleet(redis.Redis.from_url(redis_url), f"{prefix}:{{m}}", node,
                 FleetTimes(behind_s=5.0, silent_s=10.0, gone_keep_s=2.0))


def hello(page: str, version: str = "") -> Hello:
    return Hello.of({"kind": "screen", "screen_id": page, "lang": "es",
                     "viewport": [1920, 1080], "version": version})


def test_heartbeats_wait_for_the_flush_then_show_in_the_listing(redis_url, prefix):
    mine, other = fleet(redis_url, prefix), fleet(redis_url, prefix, "n2")
    mine.connected("left", "sid-1", hello("left", "1-0"), "plenario", "ua")
    other.connected("right", "sid-2", hello("right"), "plenario", "ua")
    before = {e["id"]: e for e in other.entries()}
    assert before["left"]["version_shown"] == "1-0"
    time.sleep(0.05)
    mine.seen("left", "5-0")
    mine.seen("left", None)  # a heartbeat after the new version keeps the version
    assert {e["id"]: e for e in other.entries()}["left"]["version_shown"] == "1-0"
    assert mine.flush() == 1 and mine.flush() == 0
    after = {e["id"]: e for e in other.entries()}  # read by another node
    assert after["left"]["version_shown"] == "5-0"
    assert float(after["left"]["last_seen"]) > float(before["left"]["last_seen"])
    assert after["right"]["last_seen"] == before["right"]["last_seen"]
    listed = {e["screen_id"]: e for e in other.listing({"plenario": ["5-0"]})}
    assert listed["left"]["status"] == "live" and listed["left"]["version_shown"] == "5-0"


def test_a_page_back_with_hello_is_not_shown_its_old_version(redis_url, prefix):
    mine = fleet(redis_url, prefix)
    mine.connected("left", "sid-1", hello("left"), "plenario", "ua")
    mine.seen("left", "7-0")
    mine.flush()
    mine.disconnected("left", "sid-1")
    mine.connected("left", "sid-2", hello("left"), "plenario", "ua")  # reloaded
    (entry,) = mine.entries()
    assert not entry.get("version_shown") and not entry["gone_at"]


def test_a_heartbeat_noted_before_a_disconnect_is_not_written(redis_url, prefix):
    mine = fleet(redis_url, prefix)
    mine.connected("left", "sid-1", hello("left"), "plenario", "ua")
    mine.seen("left", "3-0")
    mine.disconnected("left", "sid-1")
    assert mine.flush() == 0
    (entry,) = mine.entries()
    assert entry["gone_at"] and not entry.get("version_shown")


def test_forgotten_pages_leave_the_versions_too(redis_url, prefix):
    mine = fleet(redis_url, prefix)
    mine.connected("left", "sid-1", hello("left", "1-0"), "plenario", "ua")
    client = mine.redis
    client.zadd(mine.index, {"left": time.time() - 3600})  # long unheard of
    assert mine.entries() == []
    assert client.hget(mine.shown, "left") is None
    assert client.zscore(mine.index, "left") is None


def test_thousands_of_heartbeats_are_one_round_trip(redis_url, prefix):
    mine = fleet(redis_url, prefix)
    pages = [f"p{i}" for i in range(4000)]
    for page in pages:
        mine.connected(page, f"sid-{page}", hello(page), "plenario", "ua")
        mine.seen(page, "9-0")
    began = time.perf_counter()
    assert mine.flush() == 4000
    # Two commands (and no renewal: every hash was written by its hello just now).
    assert time.perf_counter() - began < 0.5
    assert mine.redis.hlen(mine.shown) == 4000
    assert all(v == b"9-0" for v in mine.redis.hmget(mine.shown, pages[:50]))


def test_a_page_is_behind_only_once_it_reported_the_old_version_after_the_change():
    from dashboard.store.fleet import status_of

    times = FleetTimes(behind_s=5.0, silent_s=10.0, gone_keep_s=2.0)
    out_at = 1_000.0  # the room's newest version came out then
    room = f"{int(out_at * 1000)}-0"
    entry = {"version_shown": "1-0", "connected_at": "900.0", "last_seen": "1000.6"}
    assert status_of(entry, [room], out_at + 6, times) == "behind"  # reported after it
    early = {**entry, "last_seen": "1000.4"}  # before the state could reach every screen
    assert status_of(early, [room], out_at + 6, times) == "live"
    assert status_of(entry, [room], out_at + 4, times) == "live"  # not 5 s yet
    current = {**entry, "version_shown": room}
    assert status_of(current, [room], out_at + 6, times) == "live"
    assert status_of(entry, [room], 1000.6 + 11, times) == "silent"


def test_a_page_is_behind_from_the_first_change_it_missed_though_the_room_changes_on():
    """A room changing every 3 s: its newest version is never 5 s old, yet a page
    frozen on an old version has missed the first change after it for longer."""
    from dashboard.store.fleet import status_of

    times = FleetTimes(behind_s=5.0, silent_s=10.0, gone_keep_s=2.0)
    changes = [f"{(1_000 + 3 * i) * 1000}-0" for i in range(5)]  # at 1000, 1003 ... 1012 s
    now = 1_014.0
    frozen = {"version_shown": changes[0], "connected_at": "900.0", "last_seen": "1013.5"}
    assert status_of(frozen, changes, now, times) == "behind"  # missed 1003's for 11 s
    assert status_of(frozen, changes[-1:], now, times) == "live"  # the newest only: blind
    following = {**frozen, "version_shown": changes[3]}  # missed only 1012's: 2 s
    assert status_of(following, changes, now, times) == "live"
    older = {**frozen, "version_shown": "1-0"}  # older than every version kept
    assert status_of(older, changes, now, times) == "behind"
    assert status_of(older, changes[-2:], now, times) == "live"  # the oldest kept: 1009


def test_a_page_open_twice_is_not_gone_while_one_of_them_still_reports(redis_url, prefix):
    """The same screen's link opened in two tabs of one browser (one id, kept in its
    storage): one closes, the other still draws and reports. It is listed as alive;
    once the other is silent, it is gone as any page."""
    mine = fleet(redis_url, prefix)
    mine.connected("lobby", "sid-1", hello("lobby"), "plenario", "ua")
    mine.connected("lobby", "sid-2", hello("lobby"), "plenario", "ua")  # the second tab
    mine.disconnected("lobby", "sid-2")  # the second tab closes: its entry says gone
    (closed,) = mine.listing({"plenario": ["0-0"]})
    assert closed["status"] == "gone"
    time.sleep(0.05)
    mine.seen("lobby", None)  # the first tab's heartbeat, after that
    mine.flush()
    (entry,) = mine.listing({"plenario": ["0-0"]})
    assert entry["status"] == "live"
    assert mine.listing({"plenario": ["0-0"]}, now=time.time() + 11)[0]["status"] == "silent"


def test_pages_past_the_bound_are_forgotten_oldest_first(redis_url, prefix, monkeypatch):
    """A link connecting and leaving in a loop lists a new page each time: past the bound,
    the pages whose last sign of life is oldest go at once, hash and all; a page that
    reports is never among them."""
    monkeypatch.setattr("dashboard.store.fleet.MAX_KEPT", 3)
    node = fleet(redis_url, prefix)
    for n in range(3):
        node.connected(f"p{n}", f"sid-{n}", hello(f"p{n}", "1-0"), "plenario", "ua")
        time.sleep(0.002)
    node.seen("p0", None)  # p0 is live: its heartbeat makes it the newest
    node.flush()
    for n in (3, 4):
        time.sleep(0.002)
        node.connected(f"p{n}", f"sid-{n}", hello(f"p{n}"), "plenario", "ua")
        node.disconnected(f"p{n}", f"sid-{n}")
    assert sorted(e["id"] for e in node.entries()) == ["p0", "p3", "p4"]
    for forgotten in ("p1", "p2"):
        assert not node.redis.exists(node.key(forgotten))
        assert node.redis.hget(node.shown, forgotten) is None


def test_a_page_written_after_its_entry_expired_expires_again(redis_url, prefix):
    """A subscribe or a rename after the page's hash expired writes it anew: it must not
    stay in Redis for good."""
    node = fleet(redis_url, prefix)
    node.connected("p1", "sid-1", hello("p1"), "plenario", "ua")
    ttl = node.redis.ttl(node.key("p1"))
    node.redis.delete(node.key("p1"), node.key("p2"))  # as if expired
    node.moved("p1", "gt-seguridad")
    node.rename("p2", "Sala 2")
    for page in ("p1", "p2"):
        assert 0 < node.redis.ttl(node.key(page)) <= ttl
    node.connected("p3", "sid-3", hello("p3"), "plenario", "ua")
    node.redis.expire(node.key("p3"), 5)
    node.moved("p3", "gt-seguridad")  # an entry that has its TTL keeps it
    assert node.redis.ttl(node.key("p3")) <= 5
