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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["compile_admit", "compile_rule"]

State = tuple[int, ...]


def rule_lines(
    intervals: tuple[int, ...],
    windows: tuple[int, ...],
    accept: list[str],
    indent: str,
    *,
    scalar: bool = False,
    unit: bool = False,
) -> list[str]:
    """The rule for these rates; *accept* runs (nested) when every rate allows, with ``new``.

    Each rate's interval and window are written in as numbers. A rate allows when its arrival
    time, moved up to ``now``, is at most ``window - interval * cost`` ahead; only then does it
    move on by ``interval * cost`` (a fresh key thus costs one addition). With ``scalar`` (one
    rate only) the state is the arrival time itself, not a 1-tuple; with ``unit`` the cost is
    known to be 1 and folded into the numbers.
    """
    lines: list[str] = []
    for i, (interval, window) in enumerate(zip(intervals, windows, strict=True)):
        pad = indent + "    " * i
        step = f"{interval}" if unit else f"{interval} * cost"
        slack = f"{window - interval}" if unit else f"{window} - {interval} * cost"
        lines += [
            f"{pad}t{i} = state" if scalar else f"{pad}t{i} = state[{i}]",
            f"{pad}if t{i} < now:",
            f"{pad}    t{i} = now",
            f"{pad}if t{i} - now <= {slack}:",
            f"{pad}    t{i} += {step}",
        ]
    pad = indent + "    " * len(intervals)
    new = "t0" if scalar else "(" + "".join(f"t{i}, " for i in range(len(intervals))) + ")"
    lines.append(f"{pad}new = {new}")
    lines += [pad + line for line in accept]
    return lines


def _compile(source: list[str], names: dict[str, Any], name: str) -> Any:
    namespace: dict[str, Any] = dict(names)
    exec(compile("\n".join(source), f"<pmp_ratelimit {name}>", "exec"), namespace)  # noqa: S102 - our own template
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
        *rule_lines(intervals, windows, ["return new"], "    "),
        "    return None",
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
    ``fallback(key, cost, now)`` with the time already read. As ``acquire(key, cost=1, *,
    wait=0.0)`` (``acquire=True``), a call with another cost or wait, and anything the fast
    path does not settle, goes to ``fallback(key, cost, wait=wait)``, which checks the input:
    only str keys are ever stored, so any other key finds no state here and goes there too.
    """
    if acquire:
        head = [
            "def run(key, cost=ONE, *, wait=ZERO):",
            # the default wait passes at once; another 0.0 too; None, "" ... go to be refused
            "    if cost is not ONE or wait is not ZERO and (wait or type(wait) is not float):",
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
        "        state = table[key]",
        *rule_lines(
            intervals,
            windows,
            ["table[key] = new", "return None"],
            "        ",
            scalar=len(intervals) == 1,
            unit=acquire,  # the inlined acquire settles cost 1 only
        ),
        # a new key, or an unhashable one: the fallback stores it or says what is wrong
        "    except (KeyError, TypeError):",
        "        pass",
        "    finally:",
        "        lock_put(None)",
        tail,
    ]
    names: dict[str, Any] = {
        "ONE": 1,
        "ZERO": 0.0,
        "clock": clock,
        "lock_get": lock.get,
        "lock_put": lock.put,
        "table": table,
        "fallback": fallback,
    }
    run: Callable[..., Any] = _compile(source, names, "run")
    return run
