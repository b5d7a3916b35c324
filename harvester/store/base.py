"""The declarative base of the data model and the column types it uses: aware UTC datetimes
and compressed bytes."""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from sqlalchemy import JSON, DateTime, LargeBinary, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

from harvester.store.rawdict import RAW_DICTIONARY, RAW_DICTIONARY_ID

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC; SQLite (which keeps no zone) gets it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware one")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: dt.datetime | None,
        dialect: Dialect,  # noqa: ARG002 - the signature is SQLAlchemy's
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class CompressedBytes(TypeDecorator[bytes]):
    """Bytes stored zlib-compressed with a preset dictionary (:mod:`harvester.store.rawdict`)
    behind a marker that names the dictionary; values written with plain zlib (the older
    marker) or before compression (no marker) read back unchanged."""

    impl = LargeBinary
    cache_ok = True
    MARK = b"\x00hz1"  # plain zlib (written before 0.2)
    MARK_DICT = b"\x00hzd"  # zlib with preset dictionary number <next byte>
    LEVEL = 6

    def process_bind_param(
        self,
        value: bytes | None,
        dialect: Dialect,  # noqa: ARG002 - the signature is SQLAlchemy's
    ) -> bytes | None:
        if value is None:
            return None
        return compress_raw(value)

    def process_result_value(
        self,
        value: bytes | None,
        dialect: Dialect,  # noqa: ARG002 - the signature is SQLAlchemy's
    ) -> bytes | None:
        if value is None:
            return None
        return decompress_raw(bytes(value))


_DICTIONARIES = {RAW_DICTIONARY_ID: RAW_DICTIONARY}


def compress_raw(value: bytes) -> bytes:
    """``value`` as :class:`CompressedBytes` stores it."""
    compressor = zlib.compressobj(CompressedBytes.LEVEL, zdict=RAW_DICTIONARY)
    head = CompressedBytes.MARK_DICT + bytes([RAW_DICTIONARY_ID])
    return head + compressor.compress(value) + compressor.flush()


def decompress_raw(value: bytes) -> bytes:
    """What :func:`compress_raw` (or an older release) stored, as it was given."""
    if value.startswith(CompressedBytes.MARK_DICT):
        start = len(CompressedBytes.MARK_DICT)
        zdict = _DICTIONARIES[value[start]]
        decompressor = zlib.decompressobj(zdict=zdict)
        return decompressor.decompress(value[start + 1 :]) + decompressor.flush()
    if value.startswith(CompressedBytes.MARK):
        return zlib.decompress(value[len(CompressedBytes.MARK) :])
    return value


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }
