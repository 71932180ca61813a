"""How each pattern was made, as the IPTC digital source type: the AI disclosure of listings, sheets and files.

One rule, from a pattern's provenance (and its parents', for what was made from another pattern):

- a diffusion model drew it: `trainedAlgorithmicMedia`;
- a diffusion model varied or enlarged a person's image (a scan, a photo, an import without Tessera's
  metadata): `compositeWithTrainedAlgorithmicMedia`;
- the procedural engine drew it (kaleidoscopes folded from a photo included: the design is the
  algorithm's): `algorithmicMedia`;
- a person's image that Tessera only recoloured, mended at the seam or resized:
  `algorithmicallyEnhanced` (IPTC's term for a minor change by an algorithm);
- an import with no Tessera or generator metadata: `digitalCapture` (a person made it).

Children (recolours, colourways, seam repairs, resizes) take their parent's type, or the type of what
was done to a person's work. The XMP packet carries it (Iptc4xmpExt:DigitalSourceType) with the
title and tags into exported PNG and TIFF files, where exiftool and stock sites read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from desktop import __version__

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# code -> (what a buyer reads, whether generative AI made it)
SOURCE_TYPES: dict[str, tuple[str, bool]] = {
    "trainedAlgorithmicMedia": ("Made with generative AI (a diffusion model)", True),
    "compositeWithTrainedAlgorithmicMedia": ("A person's artwork, varied or enlarged with generative AI", True),
    "algorithmicMedia": ("Made by an algorithm (procedural design, no generative AI)", False),
    "algorithmicallyEnhanced": ("A person's artwork, recoloured or repaired by an algorithm", False),
    "digitalCapture": ("Made by a person (a scan, photo or drawing; no AI)", False),
}
HUMAN = ("digitalCapture", "algorithmicallyEnhanced")
MAX_DEPTH = 16  # parents followed at most (a cycle in damaged metadata ends there)


def source_type(provenance: dict[str, Any], parent: Callable[[int], dict[str, Any] | None] | None = None,
                depth: int = 0) -> str:
    """The IPTC digital source type code of a pattern, from its provenance (Library.get's view) and, for
    what was made from another pattern, its parent's (`parent(id)` returns that pattern's provenance)."""
    prov = provenance or {}
    raw = (prov.get("raw") or {}).get("tessera") or {}
    engine = prov.get("engine") or raw.get("engine") or ""
    parents = [p for p in (prov.get("parents") or raw.get("parents") or []) if isinstance(p, int)]
    mode = raw.get("mode") or prov.get("mode") or ""

    def parent_type() -> str | None:
        if not parents or parent is None or depth >= MAX_DEPTH:
            return None
        found = parent(parents[0])
        return source_type(found, parent, depth + 1) if found is not None else None

    if engine == "diffusion":
        if mode in ("variation", "upscale"):
            made_from = parent_type()
            # a file from outside the library (no parent to ask) is a person's image, as an import is
            return "compositeWithTrainedAlgorithmicMedia" if made_from in (None, *HUMAN) else (
                made_from if made_from == "compositeWithTrainedAlgorithmicMedia" else "trainedAlgorithmicMedia")
        return "trainedAlgorithmicMedia"
    if engine == "procedural" or (not engine and prov.get("style")):  # (a style names a procedural design)
        return "algorithmicMedia"
    if engine == "resize" or (not engine and parents):
        made_from = parent_type()
        if made_from is None:
            return "algorithmicallyEnhanced" if engine == "resize" or parents else "digitalCapture"
        return "algorithmicallyEnhanced" if made_from in HUMAN else made_from
    return "digitalCapture"


def for_pattern(lib, item: dict[str, Any]) -> dict[str, Any]:
    """The disclosure of a library pattern (Library.get's view): code, IPTC URI, sentence, and whether
    generative AI made it."""

    def parent(pattern_id: int) -> dict[str, Any] | None:
        try:
            return lib.get(pattern_id).get("provenance") or {}
        except Exception:  # a parent deleted for good, or not this library's: nothing more is known
            return None

    return describe(source_type(item.get("provenance") or {}, parent))


def describe(code: str) -> dict[str, Any]:
    label, generative = SOURCE_TYPES[code]
    return {"digital_source_type": code, "uri": IPTC + code, "label": label, "generative_ai": generative}


def xmp_packet(code: str, title: str = "", tags: list[str] | None = None, description: str = "") -> bytes:
    """An XMP packet with the digital source type (IPTC Extension), title, keywords and description
    (Dublin Core) and the tool: what exiftool, Photoshop and stock sites read from a PNG or TIFF."""
    label = SOURCE_TYPES[code][0]

    def alt(text: str) -> str:
        return f'<rdf:Alt><rdf:li xml:lang="x-default">{escape(text)}</rdf:li></rdf:Alt>'

    subjects = "".join(f"<rdf:li>{escape(t)}</rdf:li>" for t in (tags or []))
    body = (
        '<rdf:Description rdf:about=""'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        f"<Iptc4xmpExt:DigitalSourceType>{IPTC + code}</Iptc4xmpExt:DigitalSourceType>"
        f"<xmp:CreatorTool>Tessera {escape(__version__)}</xmp:CreatorTool>"
        + (f"<dc:title>{alt(title)}</dc:title>" if title else "")
        + f"<dc:description>{alt((description + ' ' if description else '') + label + '.')}</dc:description>"
        + (f"<dc:subject><rdf:Bag>{subjects}</rdf:Bag></dc:subject>" if subjects else "")
        + "</rdf:Description>")
    packet = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
              '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              + body + '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    return packet.encode("utf-8")
