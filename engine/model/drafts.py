"""Mutable twins of frozen slotted dataclasses, for building their values on the hot path.

A frozen dataclass's `__init__` pays an `object.__setattr__` per field; a twin with the same base and
slots is filled by plain attribute writes and then handed the frozen class (`made.__class__ = cls`),
which Python allows because the layouts are identical. The value is then indistinguishable from one
built by `cls(...)`: equality, hashing and frozenness come from `cls`."""

from __future__ import annotations

from typing import Any


def draft_of(cls: type) -> Any:
    """A mutable class with `cls`'s slot layout (same base, same slots), so its instances can become `cls`."""
    return type(
        f"_{cls.__name__}Draft",
        cls.__bases__,
        {"__slots__": cls.__dict__["__slots__"], "__init__": object.__init__, "__setattr__": object.__setattr__},
    )
