"""Which copies to put aside: of each group of patterns that are copies of one design (pairs the
duplicate finder calls "copy", joined where they share a pattern), one is kept and the rest can
go to the trash.

The one kept is the one a curator has said most about: published, then approved, then draft,
then rejected; then the highest rated; then the oldest (the original, most often). A published
pattern is never put aside (it is listed on the marketplace). Recoloured pairs are left alone:
a recolouring is a derivative, kept on purpose.
"""

from __future__ import annotations

from typing import Any

from desktop.library.catalogue import Library

STANDING = {"published": 0, "approved": 1, "draft": 2, "rejected": 3}


def copy_groups(pairs: list[dict[str, Any]]) -> list[list[int]]:
    """The patterns joined by "copy" pairs, each group sorted, groups in order of first id."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        parent.setdefault(i, i)
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for pair in pairs:
        if pair.get("kind") == "copy":
            a, b = root(int(pair["a"])), root(int(pair["b"]))
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in list(parent):
        groups.setdefault(root(i), []).append(i)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def redundant_copies(lib: Library, pairs: list[dict[str, Any]]) -> dict[str, list[int]]:
    """{"keep": one id a group, "trash": the others} for the copy groups of `pairs`."""
    groups = copy_groups(pairs)
    facts = lib.curation([i for g in groups for i in g])
    keep, trash = [], []
    for group in groups:
        known = [i for i in group if i in facts]  # a pattern gone since the search is passed over
        if len(known) < 2:
            continue
        best = min(known, key=lambda i: (STANDING.get(facts[i]["status"], 9), -facts[i]["rating"], i))
        keep.append(best)
        trash += [i for i in known if i != best and facts[i]["status"] != "published"]
    return {"keep": keep, "trash": sorted(trash)}
