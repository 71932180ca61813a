"""The tiles a style LoRA trains on: a set from the library, each with its caption and repeat.

The default set is the studio's approved archive (published patterns included: each was
approved before it went out). A caption is the prompt the tile was made
with; a tile with none (procedural, imported) is described by its style and its tags, so
every tile says something about itself beside the LoRA's trigger word.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.library.catalogue import Library, LibraryError
from desktop.library.models import Provenance

MAX_TILES = 5000


def caption_of(prompt: str, style: str, tags: list[str]) -> str:
    """The prompt a tile was drawn from, else '<style> pattern, <tags>'."""
    prompt = " ".join((prompt or "").split())
    if prompt:
        return prompt
    head = [f"{style} pattern"] if style else ["seamless pattern"]
    return ", ".join(head + [t for t in tags if t != style])


def training_items(lib: Library, *, status: str | None = "approved", tag: str | list[str] | None = None,
                   collection: str | None = None, ids: list[int] | None = None,
                   min_rating: int = 0) -> list[dict[str, Any]]:
    """Each tile of the set as {id, file, sha256, repeat, caption, size}.

    With `ids`, exactly those patterns (whatever their status); else the patterns that match
    every filter given. "approved" takes the published patterns too."""
    if ids:
        items = []
        for pattern_id in dict.fromkeys(ids):
            try:
                items.append(lib.get(int(pattern_id)))
            except LibraryError as exc:
                raise LibraryError(f"{exc}: it cannot be trained on") from None
    else:
        # the approved archive: a published pattern was approved before it went out
        statuses = ("approved", "published") if status == "approved" else (status or None,)
        items = sorted((i for one in statuses for i in lib.list(status=one, tag=tag, min_rating=min_rating,
                                                                 collection=collection)),
                       key=lambda i: -i["id"])
    if len(items) > MAX_TILES:
        raise LibraryError(f"{len(items)} tiles are more than a LoRA needs (at most {MAX_TILES}): choose a "
                           "smaller set, by tag, rating or collection")
    with Session(lib.reader) as session:
        facts = {row.pattern_id: (row.prompt, row.style) for row in session.execute(
            select(Provenance.pattern_id, Provenance.prompt, Provenance.style)
            .where(Provenance.pattern_id.in_([i["id"] for i in items])))}
    out = []
    for item in items:
        prompt, style = facts.get(item["id"], ("", ""))
        out.append({"id": item["id"], "file": item["file"], "sha256": item["sha256"], "repeat": item["repeat"],
                    "size": item["size"], "caption": caption_of(prompt, style, item["tags"])})
    return out


def review(lib: Library, items: list[dict[str, Any]], ctx=None) -> list[dict[str, Any]]:
    """The set with what is worth a look before training on it, each item given `flags` (sentences):

    - a near-duplicate of another tile of the set (the library's layout check: the same design
      shifted, turned, flipped, scaled or recoloured), which the LoRA would learn twice over;
    - a tile whose last QA failed, and which checks failed (a broken seam or a blurred tile is
      learned as faithfully as a good one).
    """
    from desktop.library.models import QAReportRow
    from desktop.library.search import duplicates_among

    ids = [i["id"] for i in items if i.get("id") is not None]
    twins: dict[int, list[tuple[int, float]]] = {}
    for pair in duplicates_among(lib, ids, ctx=ctx):
        twins.setdefault(pair["a"], []).append((pair["b"], pair["alignment"]))
        twins.setdefault(pair["b"], []).append((pair["a"], pair["alignment"]))
    latest: dict[int, QAReportRow] = {}
    with Session(lib.reader) as session:
        for row in session.scalars(select(QAReportRow).where(QAReportRow.pattern_id.in_(ids))
                                   .order_by(QAReportRow.created, QAReportRow.id)):
            latest[row.pattern_id] = row  # the last one wins
    out = []
    for item in items:
        flags = []
        for other, score in sorted(twins.get(item.get("id"), []), key=lambda t: -t[1]):
            flags.append(f"the same design as #{other} ({score:.2f} alike): the LoRA learns it twice")
        report = latest.get(item.get("id"))
        if report is not None and not report.passed:
            failed = ", ".join(str(name) for name in report.report.get("failed", [])) or "some checks"
            flags.append(f"failed QA ({failed})")
        out.append({**item, "flags": flags})
    return out


def review_lines(reviewed: list[dict[str, Any]]) -> list[str]:
    """The set as `tessera lora train --dry-run` prints it: a line a tile, its flags under it, a summary."""
    lines = []
    for item in reviewed:
        lines.append(f"#{item.get('id', '?')}  {item.get('repeat') or 'basic':10s}  {item['caption']}")
        lines += [f"      ! {flag}" for flag in item["flags"]]
    flagged = sum(1 for item in reviewed if item["flags"])
    lines.append(f"{len(reviewed)} tile(s), {flagged} with something to look at" if flagged else
                 f"{len(reviewed)} tile(s), nothing flagged")
    return lines


def describe_set(status: str | None, tag: str | list[str] | None, collection: str | None,
                 ids: list[int] | None) -> str:
    """The set in words, for messages: 'the approved tiles tagged gold', 'collection Spring'."""
    if ids:
        return f"{len(ids)} chosen tile(s)"
    words = [f"the {status} tiles" if status else "every tile"]
    tags = [tag] if isinstance(tag, str) else list(tag or [])
    if tags:
        words.append("tagged " + " and ".join(tags))
    if collection:
        words.append(f"in the collection {collection}")
    return " ".join(words)
