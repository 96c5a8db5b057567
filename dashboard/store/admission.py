"""Who may append: the sender's link is still current, and within its allowance of commands.

Both are checked in Redis, so a revoke or a link's count holds across every node,
and both are checked by the same script that appends a command's events
(`eventlog._APPEND`): a command costs one round trip to Redis, not three. A
command refused before it reaches the append (malformed, forbidden, not allowed
by the state) is checked and counted by `Admission.check`, so every command of a
link is counted once, whatever its outcome.

The allowance is a one-second moving window per link (its role, room and
generation): the times of its last `rate` commands, newest first, in a Redis
list; a command is refused while the oldest of them is less than a second old.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from dashboard.domain.errors import DomainError, RateLimited
from dashboard.domain.roles import Role

# admit(access hash, rate list, grant, generation, now ms, rate): nil when the command
# may go on (and, with a rate, it is counted); else {"revoked", the current generation}
# or {"limited", ms until the window has room}. An empty grant skips the revocation
# check, an empty rate the count.
ADMIT = """
local function admit(access, ratekey, grant, generation, now, rate)
  if grant ~= '' then
    local current = redis.call('HGET', access, grant) or '0'
    if current ~= generation then return {'revoked', current} end
  end
  if rate ~= '' then
    local ms, most = tonumber(now), tonumber(rate)
    local oldest = redis.call('LINDEX', ratekey, most - 1)
    if oldest and tonumber(oldest) > ms - 1000 then
      return {'limited', tostring(tonumber(oldest) + 1000 - ms)}
    end
    redis.call('LPUSH', ratekey, ms)
    redis.call('LTRIM', ratekey, 0, most - 1)
    redis.call('PEXPIRE', ratekey, 1000)
  end
  return nil
end
"""

_CHECK = ADMIT + """
return admit(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) or {'ok'}
"""


class Sender(Protocol):
    """Who sends a command: a role, the room it is limited to ("*": every room), and the
    generation of its link (its allowance of commands is the link's)."""

    @property
    def role(self) -> str: ...

    @property
    def room(self) -> str: ...

    @property
    def generation(self) -> int: ...


def grant_key(role: str, room: str) -> str:
    """The field of the access hash that holds the generation of a role and room's links."""
    return f"{role}:{room}"


class Revoked(DomainError):
    """The sender's link was revoked after it was issued (401)."""

    status = 401

    def __init__(self) -> None:
        super().__init__("token_revoked", "this access link was revoked; ask for a new one")


@dataclass(frozen=True)
class Pass:
    """The keys and arguments of `admit` for one command (`count`: not counted yet)."""

    keys: tuple[str, str]
    grant: str
    generation: int
    rate: int | None

    def args(self, count: bool) -> list[Any]:
        """ARGV of `admit`, in its order, the time included (no rate: not counted)."""
        return [self.grant, str(self.generation), int(time.time() * 1000),
                "" if self.rate is None or not count else self.rate]


OPEN = Pass(("", ""), "", 0, None)  # no check, not counted (tools and tests)


def refusal(reply: list[Any], ticket: Pass) -> None:
    """Raise what an `admit` reply other than nil or "ok" says."""
    status = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
    if status == "revoked":
        raise Revoked()
    if status == "limited":
        wait = max(1, math.ceil(int(reply[1]) / 1000))
        raise RateLimited(f"more than {ticket.rate} commands a second from this access "
                          f"link; wait {wait} s", retry_after=wait)


class Admission:
    """Makes each sender's `Pass`: the access hash `access_key`, its rate list under
    `rate_prefix`, `rate` commands a second (`system_rate` for the service's own)."""

    def __init__(self, client: redis.Redis, access_key: str, rate_prefix: str,
                 rate: int, system_rate: int) -> None:
        self.access_key, self.rate_prefix = access_key, rate_prefix
        self.rate, self.system_rate = rate, system_rate
        self._check = client.register_script(_CHECK)

    def pass_for(self, sender: Sender) -> Pass:
        """The pass of a sender: its link's grant and generation, and its allowance."""
        who = f"{sender.role}:{sender.room}:{sender.generation}"
        keys = (self.access_key, f"{self.rate_prefix}:{who}")
        if sender.role == Role.SYSTEM:  # never revoked
            return Pass(keys, "", 0, self.system_rate)
        return Pass(keys, grant_key(sender.role, sender.room), sender.generation, self.rate)

    def check(self, ticket: Pass) -> None:
        """Count a command that will not be appended; Revoked or RateLimited if refused."""
        if ticket is OPEN:
            return
        refusal(self._check(keys=list(ticket.keys), args=ticket.args(True)), ticket)
