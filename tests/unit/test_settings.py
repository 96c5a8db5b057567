"""The settings come from the environment, by each field's variables, behind what is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "PLENARY_DATA_DIR", "PLENARY_MIN_REPLICAS", "PLENARY_RUN_WORKERS",
                 "PLENARY_COMMAND_RATE", "DATA_DIR", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_a_variable_sets_its_field_and_its_name_is_read_in_any_case(monkeypatch):
    monkeypatch.setenv("PLENARY_MIN_REPLICAS", "2")
    monkeypatch.setenv("plenary_data_dir", "/srv/plenary")
    monkeypatch.setenv("Redis_Url", "redis://db:6379/3")
    settings = load_settings()
    assert settings.min_replicas == 2
    assert settings.data_dir == Path("/srv/plenary")
    assert settings.redis_url == "redis://db:6379/3"


def test_strings_are_read_as_their_fields_types(monkeypatch):
    monkeypatch.setenv("PLENARY_RUN_WORKERS", "false")
    monkeypatch.setenv("PLENARY_COMMAND_RATE", "50")
    settings = load_settings()
    assert settings.run_workers is False
    assert settings.command_rate == 50


def test_what_is_given_comes_before_the_environment_by_field_or_variable_name(monkeypatch):
    monkeypatch.setenv("PLENARY_DATA_DIR", "/from/environment")
    assert load_settings(data_dir="/given").data_dir == Path("/given")
    assert load_settings(PLENARY_DATA_DIR="/given/too").data_dir == Path("/given/too")
    assert Settings(min_replicas=1).data_dir == Path("/from/environment")


def test_unset_fields_keep_their_defaults_and_unknown_names_are_ignored(monkeypatch):
    monkeypatch.setenv("PLENARY_NO_SUCH_SETTING", "1")
    settings = load_settings(no_such_field=1)
    assert settings.data_dir == Path("instance")
    assert settings.redis_url is None
    assert settings.run_workers is True


def test_a_bad_value_from_the_environment_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("PLENARY_COMMAND_RATE", "fast")
    with pytest.raises(SettingsError, match="PLENARY_COMMAND_RATE"):
        load_settings()


def _bounds(name: str) -> tuple[bool, bool]:
    metadata = Settings.model_fields[name].metadata
    lower = any(hasattr(m, "ge") or hasattr(m, "gt") for m in metadata)
    upper = any(hasattr(m, "le") or hasattr(m, "lt") for m in metadata)
    return lower, upper


def test_every_number_setting_is_bounded_both_ways():
    numbers = [name for name, info in Settings.model_fields.items()
               if info.annotation in (int, float)]
    assert numbers
    assert [name for name in numbers if _bounds(name) != (True, True)] == []


@pytest.mark.parametrize(("variable", "value"), [
    ("PLENARY_WORKER_MIN_IDLE_MS", "100000000000000000000"),  # Redis refused it, forever
    ("PLENARY_GC_FULL_EVERY_S", "inf"),
    ("PLENARY_SOCKET_RATE", "inf"),
    ("PLENARY_NOTICE_GRACE_S", "nan"),
    ("PLENARY_MAX_CONNECTIONS", "99999999999999"),
])
def test_a_number_out_of_range_is_refused_in_one_line_naming_the_variable(monkeypatch,
                                                                         variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    said = str(refused.value)
    assert said.startswith(f"{variable}: ") and "\n" not in said, said


@pytest.mark.parametrize("value", ["example.org", "http://", "http://:8080", "ftp://example.org",
                                   "https://example.org/?a=1", "https://example.org:99999",
                                   "http://[::1"])
def test_a_base_url_that_links_cannot_start_with_is_refused_naming_it(monkeypatch, value):
    # "example.org" printed every link as example.org/access/... (no scheme: not a link)
    monkeypatch.setenv("PLENARY_BASE_URL", value)
    with pytest.raises(SettingsError, match=r"^PLENARY_BASE_URL: .*https://host\[:port\]"):
        load_settings()


@pytest.mark.parametrize("value", ["", "https://plenary.example.org",
                                   "http://10.0.0.5:8080/", "https://example.org/plenary"])
def test_a_base_url_is_an_address_or_unset(monkeypatch, value):
    monkeypatch.setenv("PLENARY_BASE_URL", value)
    assert load_settings().base_url == value


@pytest.mark.parametrize("variable", ["PLENARY_DATA_DIR", "PLENARY_PROGRAMME"])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(monkeypatch, variable):
    monkeypatch.setenv(variable, " ")
    with pytest.raises(SettingsError, match=rf"^{variable}: .*not an empty string"):
        load_settings()
