"""PLENARY_WEBSOCKET_ONLY (set by `plenary run --processes N`): every Engine.IO request
that would open or use a long-polling session is refused 400 `websocket_only`, however
its query spells the transport. Engine.IO reads the query decoded, takes the first
`transport`, and polls when there is none: a polling session let through lives in one
process, and the client's next request reaches another ~1/N of the time."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"websocket_only": True})


@pytest.mark.parametrize("query", [
    "EIO=4&transport=polling",
    "EIO=4",  # no transport: Engine.IO polls
    "EIO=4&transport=%70olling",  # percent-encoded
    "EIO=4&transport=polling&transport=websocket",  # the first one counts
    "transport=polling&EIO=4&sid=abc",
])
def test_every_spelling_of_long_polling_is_refused(client, query):
    answer = client.get(f"/socket.io/?{query}")
    assert answer.status_code == 400, answer.get_data(as_text=True)[:200]
    assert answer.json["error"]["code"] == "websocket_only"


def test_without_the_setting_polling_opens_a_session(settings):
    from dashboard import create_app

    plain = create_app(settings.model_copy(update={"websocket_only": False})).test_client()
    answer = plain.get("/socket.io/?EIO=4&transport=%70olling")
    assert answer.status_code == 200 and b'"sid"' in answer.data
