"""Models shared by every resource: a page of items, strict request bodies, storable text."""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

T = TypeVar("T")
# PostgreSQL text cannot hold NUL, and UTF-8 cannot hold an unpaired surrogate. Such text fits
# the JSON schema but cannot be stored: it is refused as a 400 (see ``parsing``), not a 422.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "unstorable_text"


def _storable(value: str) -> str:
    if _UNSTORABLE.search(value):
        raise PydanticCustomError(
            UNSTORABLE, "text cannot contain NUL characters or unpaired surrogates"
        )
    return value


Text = Annotated[str, AfterValidator(_storable)]


class Body(BaseModel):
    """A request body: unknown fields are refused and no type is coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next (null: the end)."""

    items: list[T]
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last.")
