"""The Redis side of GCRA without I/O: the Lua script, its arguments, its reply, the outage policy.

The script is ``_gcra.decide`` in Lua, run atomically by the server in one round trip, with the
server's own ``TIME`` (microseconds) so that the clocks of the machines calling it do not matter.
Each policy gets its own script, with its intervals and windows written in, so that a call sends
only the key and the cost.
A key holds its theoretical arrival times as one string and expires when it is idle again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Literal

from pmp_errors import ConfigurationError, ValidationError
from pmp_ratelimit._gcra import Decision, Policy

__all__ = ["FOREIGN", "OutagePolicy", "ScriptProtocol", "script_for"]


def _lua(intervals: tuple[int, ...], windows: tuple[int, ...]) -> str:
    """The script for these rates, straight-line: one block of lines per rate, from one template.

    ``s<i>`` is rate *i*'s arrival time now (at least ``now``), ``t<i>`` what it becomes if the
    request passes. A refusal leaves the key alone; an allowed request stores every ``t<i>``
    and lets the key expire when it would be idle again. ARGV is the cost, then a time (tests
    only). A stored value that is not one integer per rate, each at most 2^53 (more than the
    script ever writes), is refused as foreign. Without ARGV (the common call: cost 1, no
    numbers wanted when allowed) an allowed request is answered with the integer 1, which
    costs the client the least to read and to send for.
    """
    n = range(len(intervals))
    pattern = " ".join("(%d+)" for _ in n)
    lines = [
        "local now",
        "if ARGV[2] then now = tonumber(ARGV[2]) else",
        "  local clock = redis.call('TIME')",
        "  now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])",
        "end",
        "local cost = tonumber(ARGV[1]) or 1",
        "local raw = redis.call('GET', KEYS[1])",
        "local " + ", ".join(f"s{i}" for i in n) + " = " + ", ".join("now" for _ in n),
        "if raw then",
        f"  local {', '.join(f'a{i}' for i in n)} = string.match(raw, '^{pattern}$')",
        f"  if not a{len(intervals) - 1} then return redis.error_reply('{FOREIGN}') end",
        *[f"  s{i} = tonumber(a{i})" for i in n],
        # past 2^53 no time the script wrote (the server's clock plus a window under 2^52 us)
        f"  if {' or '.join(f's{i} > {_EXACT}' for i in n)} then",
        f"    return redis.error_reply('{FOREIGN}')",
        "  end",
        "end",
        "local wait, binding = 0, 0",
    ]
    for i, (interval, window) in enumerate(zip(intervals, windows, strict=True)):
        lines += [
            f"if s{i} < now then s{i} = now end",
            f"local t{i} = s{i} + {interval} * cost",
            f"if t{i} - {window} - now > wait then wait, binding = t{i} - {window} - now, {i} end",
        ]

    def summary(state: str, allowed: int) -> list[str]:
        # remaining (the rate with the fewest left decides when allowed) and reset
        out = ["local remaining, lowest, reset = nil, 0, 0"]
        for i, (interval, window) in enumerate(zip(intervals, windows, strict=True)):
            out += [
                f"local left{i} = math.floor(({window} - ({state}{i} - now)) / {interval})",
                (
                    f"if remaining == nil or left{i} < remaining then "
                    f"remaining, lowest = left{i}, {i} end"
                ),
                f"if {state}{i} - now > reset then reset = {state}{i} - now end",
            ]
        out.append("if remaining < 0 then remaining = 0 end")
        which = "lowest" if allowed else "binding"
        # one bulk string: clients parse it much faster than an array of integers
        out.append(
            f"return string.format('{allowed} %d %d %d %d', remaining, wait, reset, {which})"
        )
        return out

    stored = " .. ' ' .. ".join(f"string.format('%d', t{i})" for i in n)
    lines += [
        "if wait > 0 then",
        *["  " + line for line in summary("s", 0)],
        "end",
        "local ahead = t0 - now",  # how long until the key is idle again: its expiry
        *[f"if t{i} - now > ahead then ahead = t{i} - now end" for i in n[1:]],
        f"redis.call('SET', KEYS[1], {stored}, 'PX', math.floor(ahead / 1000) + 1)",
        "if not ARGV[1] then return 1 end",
        *summary("t", 1),
    ]
    return "\n".join(lines) + "\n"


def script_for(policy: Policy) -> tuple[str, str]:
    """The Lua source for *policy* (its intervals and windows written in) and its SHA1."""
    source = _lua(policy.intervals, policy.windows)
    return source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


_EXACT = 2**53  # doubles count every integer up to here
FOREIGN = "PMPFOREIGN the key holds a value not written by a rate limiter"
OutagePolicy = Literal["open", "closed"]
logger = logging.getLogger("pmp_ratelimit")


class ScriptProtocol:
    """What the sync and async Redis stores share: key names, arguments, replies, outages."""

    __slots__ = ("down", "errors", "on_outage", "prefix")

    def __init__(self, prefix: str, on_outage: OutagePolicy) -> None:
        if not isinstance(prefix, str):
            msg = f"prefix must be a str, got {prefix!r}"
            raise ValidationError(msg, field="prefix", value=prefix)
        if on_outage not in ("open", "closed"):
            msg = f"on_outage must be 'open' (allow) or 'closed' (refuse), got {on_outage!r}"
            raise ValidationError(msg, field="on_outage", value=on_outage)
        self.prefix = prefix
        self.on_outage: OutagePolicy = on_outage
        self.errors = 0
        self.down = False  # an outage was met, and Redis has not answered since

    def key_prefix(self, policy: Policy) -> str:
        """The start of the Redis keys under *policy*: the prefix, then the rates."""
        return f"{self.prefix}{policy.signature}:"

    @staticmethod
    def name(text: str) -> bytes:
        """A Redis key name in UTF-8, lone surrogates too: any str key works, as in process."""
        return text.encode("utf-8", "surrogatepass")

    @staticmethod
    def args(cost: int, now: int | None = None) -> tuple[bytes, ...]:
        """ARGV for the script: the cost, and a time only where tests fix it (else the server's).

        Any ARGV asks for the full reply; ``admit`` sends none for a cost of 1.
        """
        return (str(cost).encode(),) if now is None else (str(cost).encode(), str(now).encode())

    def refusal(self, policy: Policy, reply: int | bytes | str | Decision) -> Decision | None:
        """None when the reply (or the outage's decision) allows, else the refusal."""
        if isinstance(reply, int):  # the short answer (1) to a call without ARGV: allowed
            if self.down:
                self.recovered()
            return None
        if isinstance(reply, Decision):
            return None if reply.allowed else reply
        decision = self.decision(policy, reply)
        return None if decision.allowed else decision

    def recovered(self) -> None:
        """Note (and log) that Redis answers again after an outage."""
        self.down = False
        logger.warning("pmp_ratelimit: Redis answers again; deciding from it")

    def decision(self, policy: Policy, reply: bytes | str | Decision) -> Decision:
        """Turn the script's full reply into a ``Decision``; note a recovery after an outage."""
        if isinstance(reply, Decision):
            return reply
        if self.down:
            self.recovered()
        allowed, remaining, wait, reset, binding = map(int, reply.split())
        tps = policy.ticks_per_second
        return Decision(
            allowed=allowed == 1,
            remaining=remaining,
            retry_after=wait / tps,
            reset=reset / tps,
            limit=policy.limits[binding],
        )

    def server_error(self, key: str, error: Exception) -> Exception:
        """The error to raise for a script refused by the server: a clear one for a foreign key.

        A key of another type (WRONGTYPE) or a string the script did not write is a clash of
        key names; any other error (OOM, READONLY ...) is raised as redis-py reported it.
        """
        text = str(error)
        if not text.startswith(("WRONGTYPE", "PMPFOREIGN")):
            return error
        reason = text.partition(" script: ")[0]
        msg = (
            f"the Redis key {key!r} holds a value this limiter did not write ({reason}); "
            "give the store another prefix, or delete the key"
        )
        return ConfigurationError(msg, config_key="prefix", redis_key=key)

    def outage(self, policy: Policy, error: Exception) -> Decision:
        """Count *error* and decide by the outage policy: allow, or refuse for one interval."""
        self.errors += 1
        if not self.down:
            self.down = True
            logger.warning(
                "pmp_ratelimit: Redis is unreachable (%s); failing %s", error, self.on_outage
            )
        if self.on_outage == "open":
            return Decision(
                allowed=True, remaining=0, retry_after=0.0, reset=0.0, limit=min(policy.limits)
            )
        slowest = max(policy.intervals) / policy.ticks_per_second
        return Decision(
            allowed=False,
            remaining=0,
            retry_after=slowest,
            reset=slowest,
            limit=min(policy.limits),
        )
