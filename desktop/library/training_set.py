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
