"""REDIS_URL may name Sentinels: the URL is read in full, and a bad one fails at start."""

from __future__ import annotations

import pytest

from dashboard.settings import SettingsError, load_settings
from dashboard.store.connection import SentinelURL, is_sentinel, parse_sentinel_url


def test_a_sentinel_url_names_every_sentinel_the_service_and_the_database():
    url = "redis+sentinel://:s%40cret@10.0.0.1:26379,sentinel-b:26380,[::1]:26381/plenary/2"
    assert is_sentinel(url)
    assert parse_sentinel_url(url) == SentinelURL(
        (("10.0.0.1", 26379), ("sentinel-b", 26380), ("::1", 26381)), "plenary", 2, "s@cret")


def test_the_database_and_password_are_optional():
    assert parse_sentinel_url("redis+sentinel://h:26379/mymaster") == SentinelURL(
        (("h", 26379),), "mymaster", 0, None)


@pytest.mark.parametrize("url", [
    "redis+sentinel://h:26379",  # no service
    "redis+sentinel://h/plenary",  # no port
    "redis+sentinel://h:port/plenary",
    "redis+sentinel://h:26379/plenary/zero",
    "redis+sentinel://h:26379/plenary/0/extra",
    "redis+sentinel:///plenary",
])
def test_a_malformed_sentinel_url_is_refused_at_start_naming_the_variable(url):
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(redis_url=url)


def test_plain_urls_are_still_accepted_and_bad_ones_refused():
    assert load_settings(redis_url="redis://127.0.0.1:6379/0").redis_url
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(redis_url="http://127.0.0.1:6379/0")


def test_min_replicas_is_bounded_and_the_command_timeout_outlasts_the_wait():
    assert load_settings().min_replicas == 0
    with pytest.raises(SettingsError, match="PLENARY_MIN_REPLICAS"):
        load_settings(min_replicas=-1)
    assert load_settings(replica_timeout_ms=5000).redis_timeout_s > 5.0


@pytest.mark.parametrize(("url", "said"), [
    # a user name was dropped silently: the password was then tried as the default user's
    ("redis+sentinel://admin:pw@h:26379/plenary", "user name"),
    # options were dropped silently too
    ("redis+sentinel://h:26379/plenary?socket_timeout=5", "options"),
    ("redis+sentinel://h:26379/plenary#x", "options"),
    # another library's spelling of the scheme: name the one this service reads
    ("sentinel://h:26379/plenary", "redis+sentinel://"),
])
def test_what_a_sentinel_url_cannot_say_is_refused_and_named(url, said):
    with pytest.raises(SettingsError, match="REDIS_URL") as refused:
        load_settings(redis_url=url)
    assert said in str(refused.value)
