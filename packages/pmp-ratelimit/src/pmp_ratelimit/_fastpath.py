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


def rule_lines(n: int, accept: list[str], indent: str, *, scalar: bool = False) -> list[str]:
    """The rule for *n* rates; *accept* runs (nested) when every rate allows, with ``new``.

    With ``scalar`` (one rate only) the state is the arrival time itself, not a 1-tuple.
    """
    lines: list[str] = []
    for i in range(n):
        pad = indent + "    " * i
        lines += [
            f"{pad}t{i} = state" if scalar else f"{pad}t{i} = state[{i}]",
            f"{pad}if t{i} < now:",
            f"{pad}    t{i} = now",
            f"{pad}t{i} += I{i} * cost",
            f"{pad}if t{i} - now <= W{i}:",
        ]
    pad = indent + "    " * n
    new = "t0" if scalar else "(" + "".join(f"t{i}, " for i in range(n)) + ")"
    lines.append(f"{pad}new = {new}")
    lines += [pad + line for line in accept]
    return lines


def _constants(intervals: tuple[int, ...], windows: tuple[int, ...]) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for i, (interval, window) in enumerate(zip(intervals, windows, strict=True)):
        names[f"I{i}"], names[f"W{i}"] = interval, window
    return names


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
        *rule_lines(n, ["return new"], "    "),
        "    return None",
    ]
    rule: Callable[[State | None, int, int], State | None]
    rule = _compile(source, _constants(intervals, windows), "rule")
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
    wait=0.0)`` (``acquire=True``), a call with another cost or a wait, and anything the fast
    path does not settle, goes to ``fallback(key, cost, wait=wait)``, which checks the input:
    only str keys are ever stored, so any other key finds no state here and goes there too.
    """
    if acquire:
        head = [
            "def run(key, cost=ONE, *, wait=0.0):",
            "    if cost is not ONE or wait:",
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
        "        state = get(key)",
        "        if state is not None:",
        *rule_lines(
            len(intervals),
            ["table[key] = new", "return None"],
            "            ",
            scalar=len(intervals) == 1,
        ),
        "    except TypeError:",  # an unhashable key: the fallback says what is wrong with it
        "        pass",
        "    finally:",
        "        lock_put(None)",
        tail,
    ]
    names = _constants(intervals, windows)
    names.update(
        ONE=1,
        clock=clock,
        lock_get=lock.get,
        lock_put=lock.put,
        get=table.get,
        table=table,
        fallback=fallback,
    )
    run: Callable[..., Any] = _compile(source, names, "run")
    return run
