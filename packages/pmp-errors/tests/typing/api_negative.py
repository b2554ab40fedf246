"""Deliberate type errors: each must be reported, or the unused ignore fails the check."""

from __future__ import annotations

from pmp_errors import RateLimitError, ValidationError, from_problem

# context names are str
ValidationError("m").expose(1)  # type: ignore[arg-type]

# instance is a URI reference, base a URL: both str
ValidationError("m").to_problem(instance=5)  # type: ignore[arg-type]
ValidationError("m").to_problem(base=b"https://example.com/")  # type: ignore[arg-type]

# a problem document is a mapping of member names
from_problem([("type", "about:blank")])  # type: ignore[arg-type]

# retry_after is a number of seconds
RateLimitError("m", retry_after="soon")  # type: ignore[arg-type]

# the class's status is an int, and a class attribute
ValidationError("m").status = "422"  # type: ignore[assignment,misc]
