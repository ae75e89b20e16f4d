"""Objects as cache keys by identity, for caches of pure functions.

A parsed definition or a result is immutable, so the same object always gives
the same answer; hashing one by value would cost more than the work it saves.
The key holds its object, so an id cannot be reused while the entry lives.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Identity(Generic[T]):
    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Identity) and other.value is self.value
