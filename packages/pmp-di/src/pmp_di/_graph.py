"""Walking the registration graph: ``validate`` and ``explain``."""

from __future__ import annotations

import inspect
from typing import Any

from pmp_di._annotations import Unresolved
from pmp_di._errors import (
    CaptiveDependencyError,
    CircularDependencyError,
    DependencyInjectionError,
    MissingDependencyError,
)
from pmp_di._lifecycle import LifecycleScope
from pmp_di._needs import Need, describe_need, how_to_register, need_of, normalize
from pmp_di._registration import UNSET, Kind, Param, Registration, display, optional_inner

__all__ = ["cycle_error", "explain_tree", "missing_error", "validate_graph"]


def cycle_error(names: list[str], start: int, again: str) -> CircularDependencyError:
    """The error for a cycle found at ``names[start]``."""
    chain = " -> ".join([*names[start:], again])
    msg = f"Circular dependency: {chain}"
    if start:
        msg += f" (reached from {' -> '.join(names[: start + 1])})"
    return CircularDependencyError(msg, path=[*names, again], cycle=[*names[start:], again])


def _qualified(obj: object) -> str:
    module = getattr(obj, "__module__", None)
    return f"{module}.{display(obj)}" if isinstance(module, str) else display(obj)


def missing_error(
    names: list[str], reg: Registration, param: Param, regs: dict[Any, Registration]
) -> MissingDependencyError:
    """The error for a parameter whose type is not registered and has no default."""
    wanted, note = display(param.annotation), ""
    if param.annotation is inspect.Parameter.empty:
        wanted = "an unannotated value"
    twins = [_qualified(key) for key in regs if display(key) == wanted]
    if twins:  # another type with the same name is registered: say which is which
        wanted = _qualified(param.annotation)
        note = f" ({', '.join(twins)} is registered, but it is a different type)"
    how = how_to_register(param.annotation)
    if note or param.annotation is inspect.Parameter.empty:
        how = f"container.register({wanted}, ...)"
    consumer = names[-1]
    chain = " -> ".join([*names[:-1], f"{consumer}.{param.name}", wanted])
    msg = (
        f"Missing dependency {chain}: parameter {param.name!r} of {display(reg.origin)} needs "
        f"{wanted}, which is not registered{note}; register it with "
        f"{how} or give the parameter a default"
    )
    if isinstance(param.annotation, Unresolved):
        msg = (
            f"Missing dependency {chain}: parameter {param.name!r} of {display(reg.origin)} is "
            f"annotated {wanted!r}, which cannot be evaluated here ({param.annotation.reason}); "
            f"import {wanted} at runtime (not only under TYPE_CHECKING) or give the "
            "parameter a default"
        )
    return MissingDependencyError(
        msg,
        service=wanted,
        consumer=consumer,
        parameter=param.name,
        path=[*names[:-1], f"{consumer}.{param.name}", wanted],
    )


def _check(
    regs: dict[Any, Registration],
    root: Registration,
    done: set[int],
    problems: list[DependencyInjectionError],
) -> None:
    """Walk the graph under ``root`` depth first (without recursion), gathering problems."""
    names: list[str] = []
    stack: list[Any] = []
    todo: list[Registration | None] = [root]  # None: leave the node on top of ``stack``
    while todo:
        reg = todo.pop()
        if reg is None:
            stack.pop()
            names.pop()
            continue
        if reg.service in stack:
            problems.append(cycle_error(names, stack.index(reg.service), display(reg.service)))
            continue
        if id(reg) in done or reg.kind is Kind.INSTANCE:
            continue
        done.add(id(reg))
        stack.append(reg.service)
        names.append(display(reg.service))
        todo.append(None)
        try:
            params = reg.params(names)
        except DependencyInjectionError as exc:
            problems.append(exc)
            continue
        if reg.lifetime is LifecycleScope.SINGLETON:
            _captive(regs, reg, list(names), problems)
        todo.extend(reversed(_below(regs, reg, params, names, problems)))


def _below(
    regs: dict[Any, Registration],
    reg: Registration,
    params: tuple[Param, ...],
    names: list[str],
    problems: list[DependencyInjectionError],
) -> list[Registration]:
    """The registrations ``reg`` builds now; missing ones are added to ``problems``."""
    below: list[Registration] = []
    for param in params:
        need, targets, nullable = need_of(regs, param.annotation)
        if need is Need.NONE:
            if not (param.has_default or nullable):
                problems.append(missing_error(names, reg, param, regs))
        elif need is Need.ONE or need is Need.MANY:  # a lazy one is built later, on call
            below.extend(targets)
    return below


def _captive(
    regs: dict[Any, Registration],
    singleton: Registration,
    names: list[str],
    problems: list[DependencyInjectionError],
) -> None:
    """Report the scoped services a singleton would hold (directly or through transients)."""
    todo: list[tuple[Registration, list[str]]] = [(singleton, names)]
    seen: set[int] = set()
    while todo:
        reg, path = todo.pop()
        if id(reg) in seen:
            continue
        seen.add(id(reg))
        try:
            params = reg.params(path)
        except DependencyInjectionError:
            continue  # reported by the main walk
        for param in params:
            need, targets, _ = need_of(regs, param.annotation)
            if need is not Need.ONE and need is not Need.MANY:
                continue
            for target in targets:
                below = [*path, display(target.service)]
                if target.lifetime is LifecycleScope.SCOPED:
                    chain = " -> ".join(below)
                    msg = (
                        f"Captive dependency {chain}: singleton {display(singleton.service)} "
                        f"cannot depend on scoped {display(target.service)}; make "
                        f"{display(target.service)} a singleton or "
                        f"{display(singleton.service)} scoped"
                    )
                    problems.append(CaptiveDependencyError(msg, path=below, parameter=param.name))
                elif (
                    target.lifetime is LifecycleScope.TRANSIENT and target.kind is not Kind.INSTANCE
                ):
                    todo.append((target, below))


def validate_graph(regs: dict[Any, Registration]) -> None:
    """Raise the first problem in the graph; its context lists all of them."""
    problems: list[DependencyInjectionError] = []
    done: set[int] = set()
    for reg in list(regs.values()):
        _check(regs, reg, done, problems)
    if problems:
        first = problems[0]
        first.context["problems"] = [p.message for p in problems]
        if len(problems) > 1:
            others = "\n".join(f"  - {p.message}" for p in problems[1:])
            first.message += f"\n{len(problems) - 1} more problem(s):\n{others}"
            first.args = (first.message,)
        raise first


def _describe(reg: Registration) -> str:
    if reg.kind is Kind.INSTANCE:
        return "instance"
    if reg.from_context:
        return "scoped <- the scope's context"
    lifetime = reg.lifetime.name.lower()
    if reg.lifetime is LifecycleScope.SINGLETON and reg.state.value is not UNSET:
        lifetime += ", built"
    how = f"{display(reg.origin)}()"
    if reg.kind is not Kind.CALL:
        how += f" [{reg.kind.value}]"
    return f"{lifetime} <- {how}"


_Line = tuple[Registration, str, str, str, tuple[Any, ...]] | str


def _explain_params(
    regs: dict[Any, Registration], reg: Registration, indent: str, path: tuple[Any, ...]
) -> list[_Line]:
    """The lines (finished or still to expand) for ``reg``'s parameters, in order."""
    try:
        params = reg.params([display(reg.service)])
    except DependencyInjectionError as exc:
        return [f"{indent}└─ error: {exc.message}"]
    below: list[_Line] = []
    for i, param in enumerate(params):
        sub_lead, sub_indent = ("└─ ", "   ") if i == len(params) - 1 else ("├─ ", "│  ")
        need, targets, nullable = need_of(regs, param.annotation)
        name = param.name
        if param.annotation is not inspect.Parameter.empty:
            name += f": {display(param.annotation)}"
        if need is Need.ONE:
            below.append((targets[0], name, indent + sub_lead, indent + sub_indent, path))
            continue
        if need is not Need.NONE:
            below.append(f"{indent}{sub_lead}{name}  ({describe_need(need, targets)})")
            if need is Need.MANY:
                below.extend(_members_lines(targets, indent + sub_indent, path))
            continue
        note = "MISSING: not registered"
        if isinstance(param.annotation, Unresolved):
            note = f"MISSING: cannot evaluate the annotation ({param.annotation.reason})"
        if param.has_default:
            note = f"not registered, default {param.default!r}"
        elif nullable:
            note = "not registered, None"
        below.append(f"{indent}{sub_lead}{name}  ({note})")
    return below


def _members_lines(
    targets: tuple[Registration, ...], indent: str, path: tuple[Any, ...]
) -> list[_Line]:
    lines: list[_Line] = []
    for j, target in enumerate(targets):
        lead, more = ("└─ ", "   ") if j == len(targets) - 1 else ("├─ ", "│  ")
        lines.append(
            (target, f"[{j}] {display(target.service)}", indent + lead, indent + more, path)
        )
    return lines


def _explain_optional(regs: dict[Any, Registration], service: object, need: Need) -> str:
    """``X | None`` explained as a parameter so annotated gets it: an X, or ``None``."""
    if need is Need.NONE:
        return f"{display(service)}  (None: not registered)"
    return explain_tree(regs, optional_inner(normalize(service)))


def explain_tree(regs: dict[Any, Registration], service: object) -> str:
    """A text tree showing how ``service`` would be built."""
    try:
        root = regs.get(normalize(service))
    except TypeError:
        root = None
    # (registration, label, lead, indent, services above it), or a finished line
    todo: list[_Line] = [(root, display(service), "", "", ())] if root is not None else []
    if root is None:
        need, targets, nullable = need_of(regs, service)
        if nullable:
            return _explain_optional(regs, service, need)
        if need is Need.NONE or need is Need.ONE:
            return f"{display(service)}  (MISSING: not registered)"
        todo.append(f"{display(service)}  ({describe_need(need, targets)})")
        if need is Need.MANY:
            todo = [*reversed(_members_lines(targets, "", ())), *todo]
    lines: list[str] = []
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            lines.append(item)
            continue
        reg, label, lead, indent, path = item
        if reg.service in path:
            lines.append(f"{lead}{label}  (cycle back to {display(reg.service)})")
            continue
        lines.append(f"{lead}{label}  ({_describe(reg)})")
        if reg.kind is not Kind.INSTANCE:
            todo.extend(reversed(_explain_params(regs, reg, indent, (*path, reg.service))))
    return "\n".join(lines)
