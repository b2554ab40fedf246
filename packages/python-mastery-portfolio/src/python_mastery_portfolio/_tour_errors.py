"""Tour section: structured errors rendered as JSON and as RFC 9457 problem details."""

from __future__ import annotations

import json

from pmp_errors import DataProcessingError, RateLimitError, ValidationError

__all__ = ["show"]


def show() -> None:
    """Raise a few structured errors and print how they render."""
    try:
        try:
            int("forty-two")
        except ValueError as exc:
            raise DataProcessingError("Failed to process row", step="parse", row_index=42) from exc
    except DataProcessingError as e:
        print("to_dict() with its cause chain:")
        print(json.dumps(e.to_dict(), indent=2))
    error = ValidationError("Age cannot be negative", field="age", value=-1)
    print(f"\n{error!r}: field={error.field!r} code={error.code!r}")
    problem = RateLimitError("Too many requests", retry_after=60.0, limit=100).to_problem()
    print("\nRFC 9457 problem details (application/problem+json):")
    print(json.dumps(problem, indent=2))
