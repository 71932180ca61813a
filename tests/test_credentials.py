"""C2PA Content Credentials: signed into exports and listing images, read back with c2pa's own Reader (offline)."""

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.library import Library, credentials
from desktop.library.disclosure import IPTC

c2pa = pytest.importorskip("c2pa", reason="c2pa-python is a dependency: pip install -e .")


def tile(seed):
    return np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib") as library:
        yield library


def _reader(path: Path, trust: bytes | None = None):
    """c2pa's own Reader, not Tessera's wrapper."""
    mime = "image/png" if path.suffix == ".png" else "image/tiff"
    if trust is None:
        return c2pa.Reader(mime, open(path, "rb"))
    context = c2pa.Context.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust.decode()}})
    return c2pa.Reader(mime, open(path, "rb"), context=context)


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_an_export_carries_a_signed_manifest_of_what_was_done_and_from_what(lib, tmp_path, isolated_home, fmt):
    from desktop.library.export import export_patterns

    parent = lib.add_tile(tile(1), {"engine": "diffusion", "model": "deco-xl", "model_hash": "ab12",
                                    "loras": [{"name": "deco", "sha256": "cd34", "weight": 0.8}],
                                    "prompt": "gold fans", "title": "Gold fans"}).added[0]
    child = lib.add_tile(tile(2), {"engine": "diffusion", "mode": "upscale", "parents": [parent],
                                   "title": "Gold fans, larger"}).added[0]
    out = Path(export_patterns(lib, [child], tmp_path / "out", fmt=fmt)[0])
    reader = _reader(out)
    manifest = reader.get_active_manifest()
    assert reader.get_validation_state() == "Valid"  # integrity holds; the studio's own root is not trusted
    failures = [f["code"] for f in reader.get_validation_results()["activeManifest"]["failure"]]
    assert failures == ["signingCredential.untrusted"]
    actions = [a for x in manifest["assertions"] if x["label"].startswith("c2pa.actions") for a in x["data"]["actions"]]
    assert [a["action"] for a in actions] == ["c2pa.created", "c2pa.resized"]
    assert actions[0]["digitalSourceType"] == IPTC + "trainedAlgorithmicMedia"
    assert [i["title"] for i in manifest["ingredients"]] == ["Gold fans"]  # the parent, by its bytes' hash
    reader.close()
    made_with = credentials.read(out.read_bytes(), fmt if fmt == "png" else "tiff")["made_with"]
    assert made_with == {"engine": "diffusion"}  # (the child's own provenance; the parent's is in the ingredient)
    parent_out = Path(export_patterns(lib, [parent], tmp_path / "parent", fmt=fmt)[0])
    assert credentials.read(parent_out.read_bytes(), "png" if fmt == "png" else "tiff")["made_with"] == {
        "engine": "diffusion", "model": "deco-xl", "model_hash": "ab12",
        "loras": [{"name": "deco", "sha256": "cd34", "weight": 0.8}]}
    root = (isolated_home / "config" / "credentials" / "studio-root.pem").read_bytes()
    trusted = _reader(out, trust=root)
    assert trusted.get_validation_state() == "Trusted"  # with the studio's root given
    trusted.close()


def _rewritten(data: bytes, kind_wanted: bytes, change) -> bytes:
    """The PNG with `change(body) -> body` applied to its chunks of one kind, their CRCs made right again."""
    out, pos = bytearray(data[:8]), 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind, body = data[pos + 4:pos + 8], bytes(data[pos + 8:pos + 8 + length])
        if kind == kind_wanted:
            body = change(body)
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        pos += 12 + length
    return bytes(out)


def _tampered(data: bytes) -> bytes:
    """One pixel byte changed inside the IDAT."""
    def change(body: bytes) -> bytes:
        raw = bytearray(zlib.decompress(body))
        raw[10] ^= 0x55
        return zlib.compress(bytes(raw))

    return _rewritten(data, b"IDAT", change)


def test_tessera_verify_says_what_a_manifest_holds_and_its_exit_codes(lib, tmp_path, isolated_home, capsys):
    from desktop.library.export import export_patterns

    pid = lib.add_tile(tile(3), {"engine": "procedural", "style": "checks", "title": "Checks"}).added[0]
    out = Path(export_patterns(lib, [pid], tmp_path / "out")[0])
    assert main(["verify", str(out), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["valid"] and not said["trusted"] and said["title"] == "Checks"
    assert said["digital_source_type"] == IPTC + "algorithmicMedia" and said["actions"] == ["c2pa.created"]
    root = isolated_home / "config" / "credentials" / "studio-root.pem"
    assert main(["verify", str(out), "--trust", str(root)]) == 0
    assert "Validation: Trusted" in capsys.readouterr().out
    broken = tmp_path / "tampered.png"
    broken.write_bytes(_tampered(out.read_bytes()))
    assert main(["verify", str(broken)]) == 1
    assert "do not validate" in capsys.readouterr().err
    plain = tmp_path / "plain.png"
    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(tile(4)).save(plain)
    assert main(["verify", str(plain)]) == 2 and "has no content credentials" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "none.png")]) == 2 and "cannot read" in capsys.readouterr().err
    other_root = tmp_path / "not-a-cert.pem"
    other_root.write_text("hello")
    assert main(["verify", str(out), "--trust", str(other_root)]) == 2
    assert "is not a PEM certificate" in capsys.readouterr().err


def test_the_signing_identity_is_made_once_and_a_studios_own_is_used_when_set(lib, tmp_path, isolated_home,
                                                                             monkeypatch):
    first = credentials.identity()
    again = credentials.identity()
    assert first.made_here and first.chain_pem == again.chain_pem and first.key_pem == again.key_pem
    key_file = isolated_home / "config" / "credentials" / "signer-key.pem"
    assert key_file.is_file() and (key_file.stat().st_mode & 0o077) == 0  # no keyring here: this user's alone
    monkeypatch.setenv("TESSERA_C2PA_CERT", str(tmp_path / "missing.pem"))
    with pytest.raises(credentials.CredentialsError, match="needs both TESSERA_C2PA_CERT and TESSERA_C2PA_KEY"):
        credentials.identity()
    chain = isolated_home / "config" / "credentials" / "signer-chain.pem"
    monkeypatch.setenv("TESSERA_C2PA_KEY", str(key_file))
    monkeypatch.setenv("TESSERA_C2PA_CERT", str(chain))
    own = credentials.identity()
    assert not own.made_here and own.chain_pem == first.chain_pem
    monkeypatch.setenv("TESSERA_C2PA_KEY", str(tmp_path / "garbage.pem"))
    (tmp_path / "garbage.pem").write_text("not a key")
    from desktop.library.export import export_patterns

    pid = lib.add_tile(tile(5), {"engine": "procedural", "style": "dots"}).added[0]
    with pytest.raises(credentials.CredentialsError, match="signing certificate or key is not usable"):
        export_patterns(lib, [pid], tmp_path / "refused")
    assert not list((tmp_path / "refused").glob("*.png"))  # nothing half-written


def test_the_inspector_shows_the_credentials_an_imported_file_carries(window, qtbot, tmp_path, isolated_home):
    from desktop.library.export import export_patterns

    with Library(tmp_path / "elsewhere") as other:
        pid = other.add_tile(tile(6), {"engine": "diffusion", "prompt": "fans", "title": "Fans"}).added[0]
        signed = Path(export_patterns(other, [pid], tmp_path / "signed")[0])
    imported = window.lib.import_file(signed).added[0]
    window.catalogue.reload()
    qtbot.waitUntil(lambda: window.library.count() == 1, timeout=10_000)
    entry = next(e for e in window.library.model.entries if e.pattern_id == imported)
    window.tile_view.show_entry(entry)
    qtbot.waitUntil(lambda: "content credentials" in window.inspector.view.toPlainText(), timeout=20_000)
    text = window.inspector.view.toPlainText()
    assert "valid, signer not from a trusted authority" in text and "c2pa.created" in text


def test_each_derived_pattern_says_what_was_done_to_its_parent(lib):
    parent = lib.add_tile(tile(7), {"engine": "procedural", "style": "checks"}).added[0]
    made = {"seam": {"repaired": "seam"}, "light": {"repaired": "lighting"},
            "recolour": {"recoloured_to": {"name": "deco"}}, "spots": {"spot_colours": 4},
            "colourway": {"colourway": {"name": "sorbet"}}, "upscale": {"mode": "upscale", "engine": "resize"}}
    expected = {"seam": "c2pa.repaired", "light": "c2pa.color_adjustments", "recolour": "c2pa.color_adjustments",
                "spots": "c2pa.color_adjustments", "colourway": "c2pa.color_adjustments", "upscale": "c2pa.resized"}
    for k, (name, note) in enumerate(made.items()):
        child = lib.add_tile(tile(10 + k), {"engine": "procedural", "style": "checks", "parents": [parent], **note}
                             ).added[0]
        actions = credentials.manifest_for(lib, lib.get(child))["assertions"][0]["data"]["actions"]
        assert [a["action"] for a in actions] == ["c2pa.created", expected[name]], name


def _corrupt_manifest(data: bytes) -> bytes:
    """Bytes inside the C2PA chunk (caBX) overwritten."""
    return _rewritten(data, b"caBX", lambda body: body[:40] + b"\x00" * 40 + body[80:])


def test_an_unreadable_manifest_and_a_styles_photo_as_ingredient(lib, tmp_path, capsys):
    from PIL import Image

    from desktop.library.export import export_patterns

    photo = tmp_path / "market-stall.png"
    Image.fromarray(tile(8)).save(photo)
    pid = lib.add_tile(tile(9), {"engine": "procedural", "style": "kaleidoscope",
                                 "inputs": {"image_path": {"path": str(photo), "sha256": "x"}}}).added[0]
    out = Path(export_patterns(lib, [pid], tmp_path / "out")[0])
    read = credentials.read(out.read_bytes(), "png")
    assert read["ingredients"] == [{"title": "market-stall.png", "relationship": "componentOf"}]
    broken = tmp_path / "broken.png"
    broken.write_bytes(_corrupt_manifest(out.read_bytes()))
    code = main(["verify", str(broken)])
    err = capsys.readouterr().err
    assert code in (1, 2) and ("cannot be read" in err or "do not validate" in err)  # never a traceback
