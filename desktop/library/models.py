"""The schema: patterns, their provenance, QA reports, tags, collections, palettes, an audit log,
and the embedding outbox the vector index drains."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STATUSES = ("draft", "approved", "rejected", "published")


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 (SQLAlchemy API)


class Pattern(Base):
    __tablename__ = "pattern"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'approved', 'rejected', 'published')", name="ck_pattern_status"),
        CheckConstraint("rating BETWEEN 0 AND 5", name="ck_pattern_rating"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    file: Mapped[str] = mapped_column(String(255))  # relative to the store
    width: Mapped[int]
    height: Mapped[int]
    repeat: Mapped[str] = mapped_column(String(16), default="basic")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    rating: Mapped[int] = mapped_column(default=0, index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[datetime] = mapped_column(default=now)
    updated: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    trashed: Mapped[datetime | None] = mapped_column(default=None, index=True)  # in the trash since

    provenance: Mapped[Provenance | None] = relationship(back_populates="pattern", cascade="all, delete-orphan",
                                                         uselist=False)
    qa_reports: Mapped[list[QAReportRow]] = relationship(back_populates="pattern", cascade="all, delete-orphan")
    tags: Mapped[list[Tag]] = relationship(back_populates="pattern", cascade="all, delete-orphan")


class Provenance(Base):
    __tablename__ = "provenance"

    pattern_id: Mapped[int] = mapped_column(ForeignKey("pattern.id", ondelete="CASCADE"), primary_key=True)
    engine: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(String(255), default="")
    model_hash: Mapped[str] = mapped_column(String(64), default="")
    loras: Mapped[list[Any]] = mapped_column(default=list)  # [{name, sha256, weight}]
    prompt: Mapped[str] = mapped_column(Text, default="")
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[int | None]
    steps: Mapped[int | None]
    cfg: Mapped[float | None]
    scheduler: Mapped[str] = mapped_column(String(64), default="")
    style: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    palette: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parents: Mapped[list[Any]] = mapped_column(default=list)  # pattern ids
    attempts: Mapped[list[Any]] = mapped_column(default=list)  # the QA loop's history
    source: Mapped[str] = mapped_column(Text, default="")  # where it came from (a path, "generate")
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)  # every metadata chunk as read

    pattern: Mapped[Pattern] = relationship(back_populates="provenance")


class QAReportRow(Base):
    __tablename__ = "qa_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pattern_id: Mapped[int] = mapped_column(ForeignKey("pattern.id", ondelete="CASCADE"), index=True)
    passed: Mapped[bool]
    profile: Mapped[str] = mapped_column(String(64), default="default")
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[datetime] = mapped_column(default=now)

    pattern: Mapped[Pattern] = relationship(back_populates="qa_reports")


class Tag(Base):
    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("pattern_id", "name", name="uq_tag_pattern_name"),
                      CheckConstraint("source IN ('auto', 'manual')", name="ck_tag_source"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pattern_id: Mapped[int] = mapped_column(ForeignKey("pattern.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(8), default="manual")
    confidence: Mapped[float] = mapped_column(default=1.0)

    pattern: Mapped[Pattern] = relationship(back_populates="tags")


class Collection(Base):
    """A saved brief: what a set of patterns was made for."""

    __tablename__ = "collection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    prompt_template: Mapped[str] = mapped_column(Text, default="")
    palette: Mapped[list[Any]] = mapped_column(default=list)
    repeat: Mapped[str] = mapped_column(String(16), default="basic")
    qa_profile: Mapped[str] = mapped_column(String(64), default="default")
    brief: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[datetime] = mapped_column(default=now)


class CollectionMember(Base):
    __tablename__ = "collection_member"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), primary_key=True)
    pattern_id: Mapped[int] = mapped_column(ForeignKey("pattern.id", ondelete="CASCADE"), primary_key=True)


class PaletteRow(Base):
    __tablename__ = "palette"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    colors: Mapped[list[Any]] = mapped_column(default=list)


class AuditLog(Base):
    """Append-only: triggers in the migration refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[datetime] = mapped_column(default=now)
    action: Mapped[str] = mapped_column(String(32))
    pattern_id: Mapped[int | None] = mapped_column(index=True)  # kept after the pattern goes
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EmbeddingOutbox(Base):
    """Patterns waiting for the embedding worker; written in the same transaction as the pattern."""

    __tablename__ = "embedding_outbox"

    pattern_id: Mapped[int] = mapped_column(ForeignKey("pattern.id", ondelete="CASCADE"), primary_key=True)
    queued: Mapped[datetime] = mapped_column(default=now)


class Publication(Base):
    """A pattern on its way to the marketplace, or there: the outbox publishing drains.

    A row is written when a pattern is queued (offline or not) and changed when the marketplace
    answers: published (with its listing), or failed (with the marketplace's reason)."""

    __tablename__ = "publication"
    __table_args__ = (CheckConstraint("state IN ('queued', 'published', 'failed')", name="ck_publication_state"),)

    pattern_id: Mapped[int] = mapped_column(ForeignKey("pattern.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    sha256: Mapped[str] = mapped_column(String(64), default="")  # the file that was (or will be) sent
    listing_id: Mapped[str] = mapped_column(String(128), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    queued: Mapped[datetime] = mapped_column(default=now)
    updated: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class ListingRow(Base):
    """A listing as a person reviewed it, for one marketplace profile: what is sent for the pattern.

    No row: the listing is drafted from the pattern when it is shown or sent (desktop/library/listings.py)."""

    __tablename__ = "listing"

    pattern_id: Mapped[int] = mapped_column(ForeignKey("pattern.id", ondelete="CASCADE"), primary_key=True)
    profile: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    reviewed: Mapped[datetime] = mapped_column(default=now, onupdate=now)
