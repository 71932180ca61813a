"""Listings: what a marketplace shows for a pattern, drafted from it, reviewed by a person, and sent as reviewed.

A listing is a title, tags, a description, the print size and the AI disclosure. It is drafted from
the pattern (its title, tags and auto-tags, its palette's colour names, its repeat and print size, the
brief's prompt, how it was made: desktop/library/disclosure.py) until someone edits it; the edited
listing is kept (the `listing` table, one per marketplace profile) and is what publishing sends.

Marketplace profiles (resources/marketplaces/*.toml) hold each site's limits: the generic API's and an
Etsy-like one (title ≤ 140 characters, at most 13 tags of ≤ 20). A listing that breaks a limit says
which, and cannot be saved or queued until it is mended.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from desktop.library.catalogue import Library, LibraryError
from desktop.library.models import ListingRow
from desktop.resources import resources_dir

DEFAULT_PROFILE = "generic"
EDITABLE = ("title", "tags", "description")


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    title_max: int
    tags_max: int
    tag_max_chars: int
    description_max: int
    disclosure_required: bool = True
    dpi: int = 150
    repeats: dict[str, str] = field(default_factory=dict)  # how the site names each repeat


def print_dpi(path: str | Path, default: float = 150) -> float:
    """The dpi a stored tile prints at: the one its PNG's Tessera metadata names (a tile made for a
    print size), else `default`."""
    from desktop.engine.images import read_metadata

    try:
        dpi = float(read_metadata(path).get("dpi") or 0)
    except (OSError, ValueError, TypeError):
        dpi = 0
    return dpi if 10 <= dpi <= 2400 else float(default)


def profile_names() -> list[str]:
    return sorted(p.stem for p in (resources_dir() / "marketplaces").glob("*.toml"))


def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """A marketplace profile by name; a missing or broken one is one sentence."""
    path = resources_dir() / "marketplaces" / f"{name}.toml"
    if not path.is_file():
        raise LibraryError(f"no marketplace profile '{name}': choose one of {', '.join(profile_names())}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return Profile(name=name, label=str(raw.get("label", name)), title_max=int(raw["title_max"]),
                       tags_max=int(raw["tags_max"]), tag_max_chars=int(raw["tag_max_chars"]),
                       description_max=int(raw["description_max"]),
                       disclosure_required=bool(raw.get("disclosure_required", True)), dpi=int(raw.get("dpi", 150)),
                       repeats={str(k): str(v) for k, v in (raw.get("repeats") or {}).items()})
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        what = f"it lacks {exc}" if isinstance(exc, KeyError) else str(exc)
        raise LibraryError(f"the marketplace profile {path} does not parse: {what}") from None


@dataclass
class Listing:
    pattern_id: int
    profile: str
    title: str
    tags: list[str]
    description: str
    print_size: str
    disclosure: str
    digital_source_type: str
    reviewed: bool = False  # a person saved it (else it is drafted)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tag(text: str) -> str:
    return " ".join(str(text).replace("_", " ").split()).lower()


def draft(lib: Library, item: dict[str, Any], profile: Profile) -> Listing:
    """The listing drafted from a pattern (Library.get's view), within the profile's limits where the
    pattern allows (tags are cut to the count and length; the title is the pattern's)."""
    from desktop.engine.mockups import tile_inches, tile_size_text
    from desktop.library import disclosure
    from desktop.library.titles import ink_names

    prov = item.get("provenance") or {}
    made = disclosure.for_pattern(lib, item)
    colours = ink_names((prov.get("palette") or {}).get("colors") or [])
    repeat = item.get("repeat") or "basic"
    candidates = [*item.get("tags", []), *colours, prov.get("style") or "", "seamless", "pattern",
                  profile.repeats.get(repeat, repeat), "surface design"]
    tags: list[str] = []
    for text in candidates:
        tag = _tag(text)
        if tag and len(tag) <= profile.tag_max_chars and tag not in tags:
            tags.append(tag)
    tags = tags[:profile.tags_max]
    width, height = item["size"]
    dpi = print_dpi(item["file"], profile.dpi)
    size = tile_size_text(tile_inches(width, height, dpi))
    size_cm = tile_size_text(tile_inches(width, height, dpi), "cm")
    title = (item.get("title") or f"Pattern {item['id']}").strip()
    prompt = " ".join(str(prov.get("prompt") or "").split())[:1000]
    lines = [f"A seamless {profile.repeats.get(repeat, repeat)} pattern" + (f" in {', '.join(colours[:4])}" if colours
                                                                          else "") + ".",
             f"One tile prints at {size} ({size_cm}) at {dpi:g} DPI, and repeats without a visible seam."]
    if prompt:
        lines.append(f"Brief: {prompt}")
    lines.append(f"How it was made: {made['label']}.")
    listing = Listing(item["id"], profile.name, title, tags, "\n".join(lines), f"{size} ({size_cm}) at {dpi:g} DPI",
                      made["label"], made["digital_source_type"])
    listing.problems = problems(listing, profile)
    return listing


def problems(listing: Listing, profile: Profile) -> list[str]:
    """Each limit of the profile the listing breaks, as a sentence (none: it can be sent)."""
    found = []
    if not listing.title.strip():
        found.append("the title is empty")
    if len(listing.title) > profile.title_max:
        found.append(f"the title is {len(listing.title)} characters; {profile.label} takes {profile.title_max}")
    if len(listing.tags) > profile.tags_max:
        found.append(f"{len(listing.tags)} tags; {profile.label} takes {profile.tags_max}")
    long = [t for t in listing.tags if len(t) > profile.tag_max_chars]
    if long:
        found.append(f"tags over {profile.tag_max_chars} characters: {', '.join(long)}")
    if len(listing.description) > profile.description_max:
        found.append(f"the description is {len(listing.description)} characters; {profile.label} takes "
                     f"{profile.description_max}")
    if profile.disclosure_required and listing.disclosure and listing.disclosure not in listing.description:
        found.append("the description must keep the AI disclosure: " + listing.disclosure)
    return found


def current(lib: Library, pattern_id: int, profile: Profile) -> Listing:
    """The listing as it will be sent: the reviewed one where a person saved it, else the draft."""
    item = lib.get(pattern_id)
    listing = draft(lib, item, profile)
    with Session(lib.engine) as session:
        row = session.get(ListingRow, (pattern_id, profile.name))
        if row is not None:
            listing.title, listing.tags, listing.description = row.title, list(row.tags or []), row.description
            listing.reviewed = True
    listing.problems = problems(listing, profile)
    return listing


def edited(listing: Listing, changes: dict[str, Any]) -> Listing:
    """The listing with `changes` (title, tags as a list or "a, b", description) applied, checked again."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise LibraryError(f"a listing's {', '.join(unknown)} cannot be set: set {', '.join(EDITABLE)}")
    out = Listing(**{**listing.as_dict(), "problems": []})
    if "title" in changes:
        out.title = " ".join(str(changes["title"]).split())
    if "tags" in changes:
        tags = changes["tags"]
        tags = [t for t in (str(tags).split(",") if isinstance(tags, str) else tags)]
        out.tags = list(dict.fromkeys(_tag(t) for t in tags if _tag(t)))
    if "description" in changes:
        out.description = str(changes["description"]).strip()
    return out


def save(lib: Library, listing: Listing, profile: Profile) -> Listing:
    """Keep a reviewed listing (what publishing will send); refused, with every broken limit, if it breaks any."""
    listing.problems = problems(listing, profile)
    if listing.problems:
        raise LibraryError(f"listing {listing.pattern_id} for {profile.label} breaks its limits: "
                           + "; ".join(listing.problems))
    lib.get(listing.pattern_id)  # a pattern that is not there is said before anything is written
    with Session(lib.engine) as session, session.begin():
        row = session.get(ListingRow, (listing.pattern_id, profile.name)) or ListingRow(
            pattern_id=listing.pattern_id, profile=profile.name)
        row.title, row.tags, row.description = listing.title, list(listing.tags), listing.description
        session.add(row)
    listing.reviewed = True
    return listing
