"""The GCRA rule as straight-line code, generated from one template for a policy's rates.

``rule_lines`` writes the rule for ``n`` rates, with each rate's interval and window as
constants: move each theoretical arrival time, refuse at the first rate that is over its
window, otherwise run the accepting lines. Two functions are compiled from it: the pure rule
(``compile_rule``: state and time in, new state or None out; ``_gcra`` uses it and the property
tests check it against a reference model) and the in-process store's locked fast path
(``compile_admit``), which counts an allowed request on a known key without a single further
call and leaves every other case (a new key, a refusal) to the store's general path.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["compile_admit", "compile_rule"]

State = tuple[int, ...]


def rule_lines(
    intervals: tuple[int, ...],
    windows: tuple[int, ...],
    accept: list[str],
    refuse: str,
    indent: str,
    *,
    state: str = "state",
    scalar: bool = False,
    unit: bool = False,
) -> list[str]:
    """The rule for these rates: *refuse* runs at the first rate over its window, else *accept*.

    Each rate's interval and window are written in as numbers. A rate whose arrival time is
    past (an idle key) allows at once, as a cost never exceeds a limit: its arrival time
    becomes ``now + interval * cost`` (one addition). Otherwise the rate allows when its
    arrival time is at most ``window - interval * cost`` ahead of ``now``, and moves on by
    ``interval * cost``. *accept* runs once every rate allowed (written into both branches of
    the last rate), with ``{new}`` replaced by the state to keep. ``state`` is where the
    current state is read from. With ``scalar`` (one rate only) the state is the arrival time
    itself, not a 1-tuple; with ``unit`` the cost is known to be 1 and folded into the numbers.
    Every name but ``now`` and ``cost`` is a local, as few as possible: each costs a little on
    every call.
    """
    lines: list[str] = []
    last = len(intervals) - 1
    for i, (interval, window) in enumerate(zip(intervals, windows, strict=True)):
        step = f"{interval}" if unit else f"{interval} * cost"
        slack = f"{window - interval}" if unit else f"{window} - {interval} * cost"
        lines.append(f"t{i} = {state}" if scalar else f"t{i} = {state}[{i}]")
        if i < last:
            idle, busy = [f"t{i} = now + {step}"], [f"t{i} += {step}"]
        else:  # the last rate accepts in each branch, its new time written into the state
            earlier = "".join(f"t{j}, " for j in range(last))
            idle, busy = (
                [line.format(new=(f"{base} + {step}" if scalar else f"({earlier}{base} + {step},)"))
                 for line in accept]
                for base in ("now", f"t{i}")
            )  # fmt: skip
        lines += [f"if t{i} < now:", *["    " + line for line in idle]]
        lines += [f"elif t{i} - now <= {slack}:", *["    " + line for line in busy]]
        lines += ["else:", f"    {refuse}"]
    return [indent + line for line in lines]


class _Refused(Exception):  # noqa: N818 - a jump out of the locked fast path, never seen outside
    """A request the fast path leaves to the general one, which says why it is refused."""


def _compile(source: list[str], names: dict[str, Any], name: str) -> Any:
    namespace: dict[str, Any] = dict(names)
    with warnings.catch_warnings():  # `is` with a literal: on purpose, see compile_admit
        warnings.simplefilter("ignore", SyntaxWarning)
        code = compile("\n".join(source), f"<pmp_ratelimit {name}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own template
    return namespace[name]


def compile_rule(
    intervals: tuple[int, ...], windows: tuple[int, ...]
) -> Callable[[State | None, int, int], State | None]:
    """The pure rule: the new state when a request of ``cost`` at ``now`` is allowed, else None."""
    n = len(intervals)
    source = [
        "def rule(state, now, cost):",
        "    if state is None:",
        f"        state = (now,) * {n}",
        *rule_lines(intervals, windows, ["return {new}"], "return None", "    "),
    ]
    rule: Callable[[State | None, int, int], State | None]
    rule = _compile(source, {}, "rule")
    return rule


def compile_admit(
    intervals: tuple[int, ...],
    windows: tuple[int, ...],
    *,
    clock: Callable[[], int],
    lock: Any,
    table: dict[str, Any],
    fallback: Callable[..., Any],
    acquire: bool = False,
) -> Callable[..., Any]:
    """The store's fast path: count an allowed request on a known key under ``lock``.

    ``table`` holds packed states: a bare int for one rate (see ``Policy.pack``).

    As ``admit(key, cost)``, anything else (a new key, a refusal) goes to
    ``fallback(key, cost, now)`` with the time already read. As ``acquire(key, cost=1,
    wait=0.0)`` (``acquire=True``), a call with another cost or wait, and anything the fast
    path does not settle, goes to ``fallback(key, cost, wait=wait)``, which checks the input:
    only str keys are ever stored, so any other key finds no state here and goes there too.
    Its parameters have positional defaults, not keyword-only ones, so that CPython calls it
    on its quickest path (a keyword-only default costs a dictionary lookup per call). The
    defaults are the very constants its first line compares against by identity (``cost is not
    1 or wait is not 0.0``), so that the common call costs two constant loads rather than two
    global lookups (about 150 of 3,400 instructions per call on CPython 3.11).
    """
    scalar = len(intervals) == 1
    if acquire:
        head = [
            "def run(key, cost=1, wait=0.0):",
            # anything but the defaults themselves (any other 1.0 or 0.0 too) takes the long way
            "    if cost is not 1 or wait is not 0.0:",
            "        return fallback(key, cost, wait=wait)",
        ]
        tail = "    return fallback(key, cost, wait=wait)"
    else:
        head = ["def run(key, cost):"]
        tail = "    return fallback(key, cost, now)"
    source = [
        *head,
        "    now = clock()",
        "    lock_get()",
        "    try:",
        *([] if scalar else ["        state = table[key]"]),
        *rule_lines(
            intervals,
            windows,
            ["table[key] = {new}", "return None"],
            "raise Refused",  # to the fallback once the lock is given back
            "        ",
            state="table[key]" if scalar else "state",
            scalar=scalar,
            unit=acquire,  # the inlined acquire settles cost 1 only
        ),
        # a new key, or an unhashable one: the fallback stores it or says what is wrong
        "    except (KeyError, TypeError, Refused):",
        "        pass",
        "    finally:",
        "        lock_put(None)",
        tail,
    ]
    names: dict[str, Any] = {
        "Refused": _Refused,
        "clock": clock,
        "lock_get": lock.get,
        "lock_put": lock.put,
        "table": table,
        "fallback": fallback,
    }
    run: Callable[..., Any] = _compile(source, names, "run")
    if acquire:  # the defaults become the constants the first line compares against
        zero = next(c for c in run.__code__.co_consts if type(c) is float and c == 0.0)
        run.__defaults__ = (1, zero)
    return run
