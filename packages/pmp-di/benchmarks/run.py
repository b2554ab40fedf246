"""Resolution speed of pmp-di against hand-written wiring and peer containers.

Graph: ``A()``, ``B(a: A)``, ``C(a: A, b: B)``, ``D(c: C, b: B)`` (``__slots__``
classes). Three cases, each a ratio to its hand-written equivalent measured in
the same round:

* transient: every type transient, one resolve builds 7 objects;
* a_singleton: ``A`` a singleton, the rest transient (4 new objects);
* built_singleton: ``D`` a singleton already built, against a bare attribute return;
* request_scope: open a request scope, resolve one scoped service (``A``), close it,
  against hand-written ``A()`` (a function creating the per-request object); the
  target is to be faster than dishka's request scope in the same round.

Each round times every variant in turn (interleaved); the table shows the median
of the per-round ratios. Run: ``python benchmarks/run.py [--quick] [--case NAME]
[--json OUT]``.

Then (unless ``--case`` picks cases, or with ``--fastapi``) ``fastapi_bench.py`` runs: the
per-request overhead of pmp-di in FastAPI as a ratio to ``Depends``, beside dishka's and
wireup's, in process and over uvicorn (``--fastapi-only`` runs just that).
"""

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGETS = {"transient": 1.3, "a_singleton": 1.4, "built_singleton": 2.5}
CASES = (*TARGETS, "request_scope")
PEER_TARGETS = {"request_scope": "dishka"}  # cases whose target is to beat a peer
BASELINES = {
    "transient": "D(C(A(), B(A())), B(A()))",
    "a_singleton": "D(C(a, B(a)), B(a))",
    "built_singleton": "return holder.d",
    "request_scope": "A()",
}
SCOPE_LIBRARIES = ("pmp-di", "dishka")  # the peers with a request scope measured here


def make_classes() -> tuple[type, type, type, type]:
    """A fresh graph per library (some peers decorate or register the classes)."""

    class A:
        __slots__ = ()

    class B:
        __slots__ = ("a",)

        def __init__(self, a: A) -> None:
            self.a = a

    class C:
        __slots__ = ("a", "b")

        def __init__(self, a: A, b: B) -> None:
            self.a = a
            self.b = b

    class D:
        __slots__ = ("b", "c")

        def __init__(self, c: C, b: B) -> None:
            self.c = c
            self.b = b

    return A, B, C, D


# -- each builder returns a statement resolving D and the globals it needs ----------------

Bench = tuple[str, dict[str, Any]]


def hand(case: str) -> Bench:
    cls_a, cls_b, cls_c, cls_d = make_classes()
    if case == "request_scope":
        return "make()", {"make": lambda: cls_a()}  # noqa: PLW0108 - a function call, as wiring is
    if case == "transient":
        return "make()", {"make": lambda: cls_d(cls_c(cls_a(), cls_b(cls_a())), cls_b(cls_a()))}
    if case == "a_singleton":
        a = cls_a()
        return "make()", {"make": lambda: cls_d(cls_c(a, cls_b(a)), cls_b(a))}

    class Holder:
        __slots__ = ("d",)

    holder = Holder()
    holder.d = cls_d(cls_c(cls_a(), cls_b(cls_a())), cls_b(cls_a()))
    return "make()", {"make": lambda: holder.d}


def pmp_di(case: str) -> Bench:
    from pmp_di import DIContainer, LifecycleScope

    cls_a, cls_b, cls_c, cls_d = make_classes()
    single, trans = LifecycleScope.SINGLETON, LifecycleScope.TRANSIENT
    if case == "request_scope":
        scoped = DIContainer().register(cls_a, scope=LifecycleScope.SCOPED)

        def request() -> object:
            with scoped.scope() as scope:
                return scope.resolve(cls_a)

        request()
        return "request()", {"request": request}
    container = DIContainer()
    container.register(cls_a, scope=trans if case == "transient" else single)
    container.register(cls_b).register(cls_c)
    container.register(cls_d, scope=single if case == "built_singleton" else trans)
    container.resolve(cls_d)
    return "container.resolve(cls_d)", {"container": container, "cls_d": cls_d}


def dishka(case: str) -> Bench:
    from dishka import Provider, Scope, make_container

    cls_a, cls_b, cls_c, cls_d = make_classes()
    if case == "request_scope":
        request_provider = Provider(scope=Scope.REQUEST)
        request_provider.provide(cls_a)
        app = make_container(request_provider)

        def request() -> object:
            with app() as request_container:
                return request_container.get(cls_a)

        request()
        return "request()", {"request": request}
    provider = Provider(scope=Scope.APP)
    provider.provide(cls_a, cache=case != "transient")
    provider.provide(cls_b, cache=False)
    provider.provide(cls_c, cache=False)
    provider.provide(cls_d, cache=case == "built_singleton")
    container = make_container(provider)
    container.get(cls_d)
    return "container.get(cls_d)", {"container": container, "cls_d": cls_d}


def wireup(case: str) -> Bench:
    import wireup as w

    cls_a, cls_b, cls_c, cls_d = make_classes()
    # wireup lets a singleton depend only on singletons: built_singleton is all-singleton there
    whole = "singleton" if case == "built_singleton" else "transient"
    lifetimes = {
        cls_a: "transient" if case == "transient" else "singleton",
        cls_b: whole,
        cls_c: whole,
        cls_d: whole,
    }
    for cls, lifetime in lifetimes.items():
        w.injectable(lifetime=lifetime)(cls)  # type: ignore[call-overload]
    container = w.create_sync_container(injectables=[cls_a, cls_b, cls_c, cls_d])
    if case == "built_singleton":
        container.get(cls_d)
        return "container.get(cls_d)", {"container": container, "cls_d": cls_d}
    scope = container.enter_scope().__enter__()  # transients need a scope
    scope.get(cls_d)
    return "scope.get(cls_d)", {"scope": scope, "cls_d": cls_d}


def dependency_injector(case: str) -> Bench:
    from dependency_injector import providers

    cls_a, cls_b, cls_c, cls_d = make_classes()
    a = providers.Factory(cls_a) if case == "transient" else providers.Singleton(cls_a)
    b = providers.Factory(cls_b, a=a)
    c = providers.Factory(cls_c, a=a, b=b)
    d = (providers.Singleton if case == "built_singleton" else providers.Factory)(cls_d, c=c, b=b)
    return "d()", {"d": d}


def punq(case: str) -> Bench:
    import punq as p

    cls_a, cls_b, cls_c, cls_d = make_classes()
    container = p.Container()
    container.register(cls_a, scope=p.Scope.transient if case == "transient" else p.Scope.singleton)
    container.register(cls_b)
    container.register(cls_c)
    container.register(
        cls_d, scope=p.Scope.singleton if case == "built_singleton" else p.Scope.transient
    )
    container.resolve(cls_d)
    return "container.resolve(cls_d)", {"container": container, "cls_d": cls_d}


def lagom(case: str) -> Bench:
    import lagom as lg

    cls_a, _, _, cls_d = make_classes()  # lagom autowires B and C unregistered
    container = lg.Container()
    if case != "transient":
        container[cls_a] = lg.Singleton(cls_a)
    if case == "built_singleton":
        container[cls_d] = lg.Singleton(cls_d)
    container[cls_d]
    return "container[cls_d]", {"container": container, "cls_d": cls_d}


def injector(case: str) -> Bench:
    import injector as inj

    cls_a, cls_b, cls_c, cls_d = make_classes()
    for cls in (cls_b, cls_c, cls_d):
        cls.__init__ = inj.inject(cls.__init__)  # type: ignore[misc]

    def configure(binder: inj.Binder) -> None:
        if case != "transient":
            binder.bind(cls_a, scope=inj.singleton)
        if case == "built_singleton":
            binder.bind(cls_d, scope=inj.singleton)

    injector_ = inj.Injector([configure])
    injector_.get(cls_d)
    return "injector_.get(cls_d)", {"injector_": injector_, "cls_d": cls_d}


def svcs(case: str) -> Bench:
    import svcs as s

    cls_a, cls_b, cls_c, cls_d = make_classes()
    registry = s.Registry()
    if case == "transient":
        registry.register_factory(cls_a, cls_a)
    else:
        registry.register_value(cls_a, cls_a())

    def make_b(svcs_container: s.Container) -> Any:
        return cls_b(svcs_container.get(cls_a))

    def make_c(svcs_container: s.Container) -> Any:
        return cls_c(svcs_container.get(cls_a), svcs_container.get(cls_b))

    def make_d(svcs_container: s.Container) -> Any:
        return cls_d(svcs_container.get(cls_c), svcs_container.get(cls_b))

    registry.register_factory(cls_b, make_b)
    registry.register_factory(cls_c, make_c)
    registry.register_factory(cls_d, make_d)
    if case == "built_singleton":
        container = s.Container(registry)
        container.get(cls_d)
        return "container.get(cls_d)", {"container": container, "cls_d": cls_d}
    # svcs caches everything per container: a fresh container is its "transient"
    return "Container(registry).get(cls_d)", {
        "Container": s.Container,
        "registry": registry,
        "cls_d": cls_d,
    }


def rodi(case: str) -> Bench:
    import rodi as r

    cls_a, cls_b, cls_c, cls_d = make_classes()
    container = r.Container()
    (container.add_transient if case == "transient" else container.add_singleton)(cls_a)
    container.add_transient(cls_b)
    container.add_transient(cls_c)
    (container.add_singleton if case == "built_singleton" else container.add_transient)(cls_d)
    provider = container.build_provider()
    provider.get(cls_d)
    return "provider.get(cls_d)", {"provider": provider, "cls_d": cls_d}


LIBRARIES: dict[str, Callable[[str], Bench]] = {
    "pmp-di": pmp_di,
    "dishka": dishka,
    "wireup": wireup,
    "dependency-injector": dependency_injector,
    "punq": punq,
    "lagom": lagom,
    "injector": injector,
    "svcs": svcs,
    "rodi": rodi,
}


def _timer(bench: Bench) -> timeit.Timer:
    statement, namespace = bench
    timer = timeit.Timer(statement, globals=namespace)
    timer.timeit(number=3)  # warm up (plans, caches) and fail here rather than mid-table
    return timer


def measure(case: str, rounds: int, budget: float) -> tuple[dict[str, float], list[str]]:
    timers = {"hand-written": _timer(hand(case))}
    skipped = []
    for name, build in LIBRARIES.items():
        if case in PEER_TARGETS and name not in SCOPE_LIBRARIES:
            continue
        try:
            timers[name] = _timer(build(case))
        except Exception as exc:  # a peer missing or failing to set up is reported
            skipped.append(f"{name} ({type(exc).__name__}: {exc})")
    base = timers.pop("hand-written")
    per_call = min(base.repeat(number=2000, repeat=3)) / 2000
    number = max(200, int(budget / per_call))
    counts = {}
    for name, timer in timers.items():
        own = timer.timeit(number=50) / 50
        counts[name] = max(20, min(number, int(budget / own)))
    ratios: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            # the baseline is timed right next to each variant, so drift on a shared
            # machine hits both sides of every ratio alike
            base_time = min(base.repeat(number=number, repeat=3)) / number
            took = min(timer.repeat(number=counts[name], repeat=3)) / counts[name]
            ratios[name].append(took / base_time)
    return {name: statistics.median(r) for name, r in ratios.items()}, skipped


def _target(
    case: str, name: str, ratio: float, results: dict[str, float]
) -> tuple[str, bool | None]:
    """The target shown for a row, and whether pmp-di met it (``None`` for peers)."""
    if name != "pmp-di":
        return "-", None
    peer = PEER_TARGETS.get(case)
    if peer is None:
        return f"<= {TARGETS[case]}x", ratio <= TARGETS[case]
    if peer not in results:
        return f"< {peer}", None
    return f"< {peer}", ratio < results[peer]


def fastapi_rows(*, quick: bool) -> list[dict[str, Any]]:
    """Run ``fastapi_bench.py`` (in process and over uvicorn); its ratios as JSON rows.

    Each row is a variant's per-request overhead (above a bare endpoint) as a ratio
    to FastAPI's ``Depends`` for the same graph.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fastapi_bench

    print()
    figures = fastapi_bench.measure_all(quick=quick, server=True)
    rows: list[dict[str, Any]] = []
    print(f"\n{'FastAPI, overhead':<26} {'library':<8} {'x Depends':>9}  {'target':<24} met")
    for figure, ratios in figures.items():
        for name, ratio in sorted(ratios.items(), key=lambda item: item[1]):
            if name == "Depends":  # the baseline itself
                continue
            target, ok = "-", None
            if name == "pmp-di":
                target = f"<= {fastapi_bench.TARGET}x, < dishka, wireup"
                ok = fastapi_bench.met(ratios)
            rows.append(
                {
                    "name": f"fastapi {figure}: {name}",
                    "baseline": "FastAPI Depends (per-request overhead)",
                    "ratio": round(ratio, 3),
                    "target": target,
                    "met": True if ok is None else ok,
                }
            )
            flag = "" if ok is None else ("yes" if ok else "NO")
            print(f"{figure:<26} {name:<8} {ratio:>8.2f}x  {target:<24} {flag}")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (< 20 s)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    parser.add_argument("--case", action="append", choices=CASES, help="only these cases")
    parser.add_argument("--fastapi", action="store_true", help="the FastAPI benchmark too")
    parser.add_argument("--fastapi-only", action="store_true", help="only the FastAPI benchmark")
    args = parser.parse_args()
    rounds, budget = (3, 0.004) if args.quick else (9, 0.02)
    rows = []
    skipped_all: set[str] = set()
    python = platform.python_version()
    print(f"pmp-di resolution benchmark, Python {python}, {rounds} interleaved rounds")
    print(f"{'case':<16} {'library':<20} {'ratio':>7}  {'target':<8} met")
    for case in [] if args.fastapi_only else args.case or CASES:
        results, skipped = measure(case, rounds, budget)
        skipped_all.update(skipped)
        for name, ratio in sorted(results.items(), key=lambda item: item[1]):
            target, met = _target(case, name, ratio, results)
            rows.append(
                {
                    "name": f"{case}: {name}",
                    "baseline": f"hand-written {BASELINES[case]}",
                    "ratio": round(ratio, 3),
                    "target": target,
                    "met": bool(met) if met is not None else True,
                }
            )
            flag = "" if met is None else ("yes" if met else "NO")
            print(f"{case:<16} {name:<20} {ratio:>6.2f}x  {target:<8} {flag}")
    for skip in sorted(skipped_all):
        print(f"skipped: {skip}")
    if args.fastapi_only or args.fastapi or not args.case:
        rows += fastapi_rows(quick=args.quick)
    if args.json:
        payload = {
            "package": "pmp-di",
            "python": python,
            "date": dt.datetime.now(tz=dt.timezone.utc).date().isoformat(),
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
