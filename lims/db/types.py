"""Reusable column declarations: digests checked in the database, UTC times from its clock."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from sqlalchemy import String, func, text
from sqlalchemy.orm import mapped_column

SHA256_PATTERN = "^[0-9a-f]{64}$"

UuidPk = Annotated[
    uuid.UUID,
    mapped_column(primary_key=True, server_default=text("gen_random_uuid()")),
]
Sha256Hex = Annotated[str, mapped_column(String(64))]
CreatedAt = Annotated[
    dt.datetime, mapped_column(server_default=func.transaction_timestamp(), nullable=False)
]


def sha256_check(column: str) -> str:
    """SQL CHECK expression that a column holds a lowercase hex SHA-256."""
    return f"{column} ~ '{SHA256_PATTERN}'"
