import logging

import pytest
import structlog
from structlog.testing import capture_logs

from pmp_decorators.instrumentation import set_instrumentation
from pmp_decorators.integrations.logging import LoggingInstrument
from pmp_errors import ValidationError


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kept():
    logger = logging.getLogger("test.pmp.retries")
    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler.records
    logger.removeHandler(handler)


FIELDS = ("function", "attempt", "max_attempts", "wait", "waited", "error_type", "error")


def test_stdlib_records_carry_extra_fields(kept, flaky, exact):
    """Each retry and the give-up is one record with the fields as extra attributes."""
    logger, records = kept
    with set_instrumentation(LoggingInstrument(logger)), pytest.raises(OSError):
        exact()(flaky(5))()
    name = "make_flaky.<locals>.fetch"
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, f"{name}: attempt 1 of 3 failed (OSError), retrying in 0.100 s"),
        (logging.WARNING, f"{name}: attempt 2 of 3 failed (OSError), retrying in 0.200 s"),
        (logging.ERROR, f"{name}: gave up after 3 attempt(s) (OSError)"),
    ]
    assert [tuple(getattr(r, field) for field in FIELDS) for r in records] == [
        (name, 1, 3, 0.1, 0.0, "OSError", "OSError('down 1')"),
        (name, 2, 3, 0.2, 0.1, "OSError", "OSError('down 2')"),
        (name, 3, 3, None, 0.1 + 0.2, "OSError", "OSError('down 3')"),
    ]


def test_default_logger_and_levels(caplog, flaky, exact):
    """By default records go to pmp_decorators.retry at WARNING, give-ups at ERROR."""
    with (
        caplog.at_level(logging.DEBUG, "pmp_decorators.retry"),
        set_instrumentation(LoggingInstrument()),
    ):
        exact()(flaky(1))()
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("pmp_decorators.retry", logging.WARNING)


def test_disabled_levels_log_nothing(kept, exact):
    """A logger above the levels gets nothing, and the field values are never built."""
    logger, records = kept
    logger.setLevel(logging.CRITICAL)

    class Unprintable(OSError):
        def __repr__(self) -> str:
            raise AssertionError

    def broken():
        raise Unprintable

    with set_instrumentation(LoggingInstrument(logger)), pytest.raises(Unprintable):
        exact()(broken)()
    assert records == []


def test_structlog_logger_gets_the_fields_as_keywords(flaky, exact):
    """A structlog logger gets one event per retry with the fields as key-values."""
    with capture_logs() as events:
        log = structlog.get_logger("pmp").bind(service="api")
        with set_instrumentation(LoggingInstrument(log)):
            exact()(flaky(1))()
    (event,) = events
    assert event == {
        "event": "make_flaky.<locals>.fetch: attempt 1 of 3 failed (OSError), retrying in 0.100 s",
        "log_level": "warning",
        "service": "api",
        "function": "make_flaky.<locals>.fetch",
        "attempt": 1,
        "max_attempts": 3,
        "wait": 0.1,
        "waited": 0.0,
        "error_type": "OSError",
        "error": "OSError('down 1')",
    }


def test_logger_adapter_extra_is_merged(kept, flaky, exact):
    """A LoggerAdapter's own extra is kept alongside the retry fields."""
    logger, records = kept
    adapter = logging.LoggerAdapter(logger, {"request_id": "r-1"})
    with set_instrumentation(LoggingInstrument(adapter)):
        exact()(flaky(1))()
    (record,) = records
    assert (record.request_id, record.attempt) == ("r-1", 1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"logger": "pmp"}, "logger"),
        ({"level": "WARNING"}, "level"),
        ({"give_up_level": None}, "level"),
    ],
)
def test_bad_arguments_are_refused(kwargs, field):
    """A logger without log(), or a level that is not an int, raises a ValidationError."""
    with pytest.raises(ValidationError) as caught:
        LoggingInstrument(**kwargs)
    assert caught.value.context["field"] == field
