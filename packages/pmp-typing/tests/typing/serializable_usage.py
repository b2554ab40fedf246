"""Types users see from Serializable and is_serializable."""

from __future__ import annotations

from collections.abc import Mapping

from typing_extensions import assert_type

from pmp_errors import ValidationError
from pmp_typing import Serializable, is_serializable


class Row:
    def to_dict(self) -> dict[str, int]:
        return {"id": 1}


def dump(item: Serializable) -> Mapping[str, object]:
    return item.to_dict()


dump(Row())
dump(ValidationError("bad", field="age"))


def maybe(obj: object) -> None:
    if is_serializable(obj):
        assert_type(obj, Serializable)
        assert_type(obj.to_dict(), Mapping[str, object])
