"""Types users see from Container."""

from __future__ import annotations

from typing_extensions import assert_type

from pmp_typing import Container

int_container: Container[int] = Container(42)
str_container: Container[str] = Container("hello")
result = int_container.map(lambda x: x * 2)
assert_type(result, Container[int])
assert_type(int_container.map(str), Container[str])
assert_type(str_container.map(len).value, int)
assert_type(int_container.flat_map(lambda x: Container([x])), Container[list[int]])
widened: Container[object] = int_container
