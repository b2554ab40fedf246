"""Steps of the Redis cache protocol and ``Exchange``, which feeds them their replies.

An operation of ``RedisProtocol`` is a generator: it yields a command (a tuple
for ``execute_command``), a pipeline (a list of commands, answered by the list
of their replies) or a pause (a float, in seconds); it receives the reply, or
the exception the command raised thrown in, and returns the operation's result.
A blocking driver hands ``drive`` a function that carries out one step; an
asyncio driver awaits each step itself and hands what came of it to an
``Exchange``. Neither needs to know what the operation does.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

__all__ = ["Command", "Exchange", "Step", "Steps", "drive"]

T = TypeVar("T")
Command = tuple[Any, ...]
Step = Command | list[Command] | float
Steps = Generator[Step, Any, T]


class Exchange(Generic[T]):
    """One operation in flight: the step to carry out, then its reply or failure.

    >>> def steps():
    ...     reply = yield ("PING",)
    ...     return reply.lower()
    >>> run = Exchange(steps())
    >>> run.step
    ('PING',)
    >>> run.reply(b"PONG")
    >>> run.pending, run.result()
    (False, b'pong')
    """

    __slots__ = ("_error", "_result", "_steps", "pending", "step")

    def __init__(self, steps: Steps[T]) -> None:
        self._steps = steps
        self.pending = True
        self.step: Step = ()
        self._result: Any = None
        self._error: BaseException | None = None
        self._advance(steps.send, None)

    def _advance(self, method: Callable[[Any], Step], argument: Any) -> None:
        try:
            self.step = method(argument)
        except StopIteration as stop:
            self.pending, self._result = False, stop.value
        except BaseException as exc:  # noqa: BLE001 - handed back by result()
            self.pending, self._error = False, exc

    def reply(self, reply: Any) -> None:
        """Hand the reply of ``step`` to the operation."""
        self._advance(self._steps.send, reply)

    def fail(self, exc: BaseException) -> None:
        """Tell the operation that ``step`` raised ``exc``."""
        self._advance(self._steps.throw, exc)

    def result(self) -> T:
        """The operation's result, or the exception it ended with."""
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._result  # type: ignore[no-any-return]


def drive(steps: Steps[T], execute: Callable[[Step], Any]) -> T:
    """Run an operation to its end, carrying out each step with ``execute``.

    >>> def steps():
    ...     reply = yield ("PING",)
    ...     return reply.lower()
    >>> drive(steps(), lambda step: b"PONG")
    b'pong'
    """
    reply: Any = None
    failure: BaseException | None = None
    while True:
        try:
            step = steps.send(reply) if failure is None else steps.throw(failure)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            reply, failure = execute(step), None
        except BaseException as exc:  # noqa: BLE001 - thrown into the operation
            reply, failure = None, exc
