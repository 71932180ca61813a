"""The AI disclosure: each pattern's IPTC digital source type, in exports' XMP, listings and sheets."""

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from desktop.library import disclosure
from desktop.library.catalogue import Library
from desktop.library.disclosure import IPTC, source_type

NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dc": "http://purl.org/dc/elements/1.1/",
      "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"}


def _tile(value):
    rng = np.random.default_rng(value)
    return rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)


@pytest.fixture
def lib(tmp_path):
    library = Library(tmp_path / "lib")
    yield library
    library.close()


def _scan(lib, tmp_path, value=7):
    """A person's image, imported without any generator's metadata."""
    path = tmp_path / f"scan{value}.png"
    Image.fromarray(_tile(value)).save(path)
    return lib.import_file(path).added[0]


def _made(lib, pattern_id):
    return disclosure.for_pattern(lib, lib.get(pattern_id))["digital_source_type"]


def test_each_way_of_making_a_pattern_has_its_source_type(lib, tmp_path):
    scan = _scan(lib, tmp_path)
    drawn = lib.add_tile(_tile(1), {"engine": "procedural", "style": "checks"}).added[0]
    dreamt = lib.add_tile(_tile(2), {"engine": "diffusion", "model": "m", "prompt": "fans"}).added[0]
    folded = lib.add_tile(_tile(3), {"engine": "procedural", "style": "kaleidoscope", "parents": [scan]}).added[0]
    varied_scan = lib.add_tile(_tile(4), {"engine": "diffusion", "mode": "variation", "parents": [scan]}).added[0]
    upscaled_ai = lib.add_tile(_tile(5), {"engine": "diffusion", "mode": "upscale", "parents": [dreamt]}).added[0]
    outside = lib.add_tile(_tile(6), {"engine": "diffusion", "mode": "variation", "parents": []}).added[0]
    resized_scan = lib.add_tile(_tile(8), {"engine": "resize", "mode": "upscale", "parents": [scan]}).added[0]
    recoloured_scan = lib.add_tile(_tile(9), {"parents": [scan]}).added[0]
    recoloured_ai = lib.add_tile(_tile(10), {"parents": [varied_scan]}).added[0]
    assert _made(lib, scan) == "digitalCapture"
    assert _made(lib, drawn) == "algorithmicMedia"
    assert _made(lib, dreamt) == "trainedAlgorithmicMedia"
    assert _made(lib, folded) == "algorithmicMedia"  # the design is the algorithm's, from a person's photo
    assert _made(lib, varied_scan) == "compositeWithTrainedAlgorithmicMedia"
    assert _made(lib, upscaled_ai) == "trainedAlgorithmicMedia"
    assert _made(lib, outside) == "compositeWithTrainedAlgorithmicMedia"  # a file from outside: a person's image
    assert _made(lib, resized_scan) == "algorithmicallyEnhanced"
    assert _made(lib, recoloured_scan) == "algorithmicallyEnhanced"
    assert _made(lib, recoloured_ai) == "compositeWithTrainedAlgorithmicMedia"  # a child keeps what AI did
    a1111 = {"engine": "", "raw": {"tessera": {}, "a1111": {"prompt": "x"}}}
    assert source_type({**a1111, "engine": "diffusion"}) == "trainedAlgorithmicMedia"


def test_a_cycle_in_damaged_metadata_ends(lib):
    looping = {"engine": "", "parents": [1]}
    assert source_type(looping, lambda pid: looping) == "algorithmicallyEnhanced"
    assert source_type({"engine": "", "parents": [99]}, lambda pid: None) == "algorithmicallyEnhanced"


def _xmp_fields(packet: bytes) -> dict:
    root = ET.fromstring(packet.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    desc = root.find(".//rdf:Description", NS)
    return {"source": desc.find("Iptc4xmpExt:DigitalSourceType", NS).text,
            "title": desc.find("dc:title/rdf:Alt/rdf:li", NS).text,
            "subjects": [li.text for li in desc.findall("dc:subject/rdf:Bag/rdf:li", NS)],
            "description": desc.find("dc:description/rdf:Alt/rdf:li", NS).text}


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_exported_files_carry_the_source_type_in_xmp(lib, tmp_path, fmt):
    from desktop.library.export import export_patterns

    pid = lib.add_tile(_tile(2), {"engine": "diffusion", "model": "m", "prompt": "fans",
                                  "title": "Gold fans <deco> & co"}).added[0]
    lib.update(pid, add_tags=["deco", "gold"])
    out = export_patterns(lib, [pid], tmp_path / "out", fmt=fmt)[0]
    with Image.open(out) as img:  # read back with Pillow, not with the code that wrote it
        packet = img.info["XML:com.adobe.xmp"].encode() if fmt == "png" else bytes(img.tag_v2[700])
        description = json.loads(img.info["tessera"] if fmt == "png" else img.tag_v2[270])
    fields = _xmp_fields(packet)
    assert fields["source"] == IPTC + "trainedAlgorithmicMedia"
    assert fields["title"] == "Gold fans <deco> & co"  # escaped in the packet, itself again when read
    assert fields["description"] == "Made with generative AI (a diffusion model)."
    assert fields["subjects"] == lib.get(pid)["tags"]
    assert description["digital_source_type"] == "trainedAlgorithmicMedia"


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed here (apt install "
                    "libimage-exiftool-perl); the XMP is read back with Pillow in the test above")
def test_exiftool_reads_the_disclosure(lib, tmp_path):
    from desktop.library.export import export_patterns

    scan = _scan(lib, tmp_path)
    for fmt in ("png", "tiff"):
        out = export_patterns(lib, [scan], tmp_path / fmt, fmt=fmt)[0]
        read = json.loads(subprocess.run(["exiftool", "-j", "-XMP:all", out], capture_output=True, text=True,
                                         timeout=60, check=True).stdout)[0]
        assert read["DigitalSourceType"] == IPTC + "digitalCapture"
        assert read["CreatorTool"].startswith("Tessera ")


def test_listings_and_sheets_say_how_each_pattern_was_made(lib, tmp_path, monkeypatch):
    from desktop.engine import sheet
    from desktop.library import export
    from desktop.library.publishing import metadata_for

    scan = _scan(lib, tmp_path)
    dreamt = lib.add_tile(_tile(2), {"engine": "diffusion", "model": "m", "prompt": "fans"}).added[0]
    sent = metadata_for(lib.get(dreamt), 150, disclosure.for_pattern(lib, lib.get(dreamt)))
    assert sent["disclosure"] == {"digital_source_type": IPTC + "trainedAlgorithmicMedia",
                                  "text": "Made with generative AI (a diffusion model)", "generative_ai": True}
    assert metadata_for(lib.get(scan))["disclosure"]["generative_ai"] is False
    shown = []
    real = sheet.presentation_sheet
    monkeypatch.setattr(sheet, "presentation_sheet", lambda items, *a: shown.extend(items) or real(items, *a))
    export.export_sheet(lib, [scan, dreamt], tmp_path / "sheet.png")
    assert [item.note for item in shown] == ["Made by a person (a scan, photo or drawing; no AI)",
                                             "Made with generative AI (a diffusion model)"]
