"""`tessera qa`, `repair-seam` and `recolor` on real files, including awkward and broken ones."""

import json

import numpy as np
import pytest
from PIL import Image, ImageCms

from desktop.cli import main
from desktop.engine.images import read_metadata


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_qa_exit_codes_and_overlays(capsys, shared_textures, tmp_path):
    good = shared_textures / "seamless/moss-plants.jpg"
    bad = shared_textures / "hard-negatives/cork-board.png"
    code, out, _ = run(capsys, "qa", str(good), "--json")
    assert code == 0 and json.loads(out)["passed"]
    code, out, _ = run(capsys, "qa", str(good), str(bad), "--overlay-dir", str(tmp_path / "ov"), "--json")
    result = json.loads(out)
    assert code == 1 and not result["passed"]
    seam = next(c for c in result["reports"][1]["checks"] if c["name"] == "seam")
    assert seam["status"] == "fail"
    overlay = result["reports"][1]["overlays"]["seam"]
    with Image.open(overlay) as img:
        assert img.size == Image.open(bad).size


def test_qa_reads_repeat_and_palette_from_tessera_metadata(capsys, tmp_path):
    code, out, _ = run(capsys, "generate", "--style", "hexagons", "--repeat", "half-brick", "--size", "128",
                       "--palette", "art-deco", "--out", str(tmp_path), "--json")
    assert code == 0
    path = json.loads(out)["written"][0]
    _, out, _ = run(capsys, "qa", path, "--json")
    report = json.loads(out)["reports"][0]
    assert report["repeat"] == "half-brick"
    palette = next(c for c in report["checks"] if c["name"] == "palette")
    assert palette["status"] == "pass"


def test_qa_print_size_and_profile(capsys, shared_textures):
    path = str(shared_textures / "seamless/moss-plants.jpg")
    code, out, _ = run(capsys, "qa", path, "--print-size", "24x24in", "--json")
    printing = next(c for c in json.loads(out)["reports"][0]["checks"] if c["name"] == "print")
    assert code == 1 and printing["status"] == "fail"
    code, _, err = run(capsys, "qa", path, "--profile", "nope")
    assert code == 2 and "unknown QA profile" in err


def make_awkward_images(folder):
    base = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    rgb = Image.fromarray(base)
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(base[..., 0].astype(np.uint16) * 257).save(folder / "sixteen.png")  # mode I;16
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(folder / "palette-alpha.png", transparency=0)
    exif = rgb.getexif()
    exif[0x0112] = 8
    rgb.crop((0, 0, 64, 32)).save(folder / "rotated.jpg", exif=exif)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgb.save(folder / "icc.png", icc_profile=srgb)
    data = (folder / "icc.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "not-an-image.png").write_text("hello")
    return folder


@pytest.mark.parametrize("name,ok", [("cmyk.jpg", True), ("sixteen.png", True), ("palette-alpha.png", True),
                                      ("rotated.jpg", True), ("icc.png", True), ("truncated.png", False),
                                      ("not-an-image.png", False)])
def test_awkward_images_are_handled_or_refused_in_one_line(capsys, tmp_path, name, ok):
    make_awkward_images(tmp_path)
    code, out, err = run(capsys, "qa", str(tmp_path / name), "--json")
    result = json.loads(out)
    if ok:
        assert code in (0, 1) and result["reports"] and not result["errors"]
    else:
        assert code == 2 and result["errors"][0]["image"].endswith(name)
        assert "\n" not in result["errors"][0]["error"]
    assert "Traceback" not in err


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    from desktop.engine.images import load_rgb_with_info

    make_awkward_images(tmp_path)
    img, info = load_rgb_with_info(tmp_path / "sixteen.png")
    assert info["bits"] == 16 and img.max() > 200 and img.min() < 50
    rotated, _ = load_rgb_with_info(tmp_path / "rotated.jpg")
    assert rotated.shape[:2] == (64, 32)  # EXIF orientation 8 turns it upright


def test_decompression_bombs_are_refused_by_qa(capsys, tmp_path, monkeypatch):
    Image.new("RGB", (300, 300)).save(tmp_path / "bomb.png")
    monkeypatch.setattr("desktop.engine.images.MAX_PIXELS", 100 * 100)
    code, _, err = run(capsys, "qa", str(tmp_path / "bomb.png"))
    assert code == 2 and "Traceback" not in err


def test_repair_seam_command(capsys, shared_textures, tmp_path):
    img = Image.open(shared_textures / "seamless/foliage-dense-leaves.jpg").crop((100, 150, 740, 790))
    img.save(tmp_path / "crop.png")
    code, out, _ = run(capsys, "qa", str(tmp_path / "crop.png"), "--json")
    assert code == 1
    code, out, _ = run(capsys, "repair-seam", str(tmp_path / "crop.png"), "--out", str(tmp_path / "fixed.png"),
                       "--json")
    result = json.loads(out)
    assert code == 0 and result["seam_before"]["status"] == "fail" and result["seam_after"]["status"] == "pass"
    assert read_metadata(tmp_path / "fixed.png")["repaired"] == "seam"


def test_recolor_command_with_separations(capsys, shared_textures, tmp_path):
    src = str(shared_textures / "seamless/fabric-gingham-red.jpg")
    code, out, _ = run(capsys, "recolor", src, "--colors", "3", "--dither", "--separations", str(tmp_path / "seps"),
                       "--out", str(tmp_path / "three.png"), "--json")
    result = json.loads(out)
    assert code == 0 and len(result["palette"]) == 3 and len(result["separations"]) == 3
    assert abs(sum(result["coverage"]) - 1) <= 2e-4  # each share is rounded to 4 decimals
    with Image.open(tmp_path / "three.png") as img:
        assert len(img.convert("RGB").getcolors(1000)) == 3
    code, _, err = run(capsys, "recolor", src, "--out", str(tmp_path / "x.png"))
    assert code == 2 and "either --palette" in err
    code, out, _ = run(capsys, "recolor", src, "--palette", "art-deco", "--out", str(tmp_path / "deco.png"), "--json")
    assert code == 0 and set(json.loads(out)["palette"]) == {"#111111", "#c9a227", "#f0e6d2", "#1f4e5f", "#8c2f39"}


def test_qa_judges_a_scan_larger_than_a_tile_on_a_reduced_copy(tmp_path, capsys):
    """One rule for what opens: a scan wider than a tile (8192) is what the library imports, so QA
    reads it too, judging an area-reduced copy (its memory then bounded by the decode) while the
    print check reads the real size."""
    import json

    import numpy as np
    from PIL import Image

    from desktop.cli import main
    from desktop.engine.qa import QA_SIDE, judged_copy, run_qa

    rng = np.random.default_rng(4)
    small = (rng.random((60, 90, 3)) * 255).astype(np.uint8)
    scan = tmp_path / "scan.png"
    Image.fromarray(small).resize((9000, 6000), Image.NEAREST).save(scan, compress_level=1)
    code = main(["--json", "qa", str(scan), "--dpi", "600", "--overlay-dir", str(tmp_path / "qa")])
    report = json.loads(capsys.readouterr().out)["reports"][0]
    assert code in (0, 1) and report["size"] == [9000, 6000]
    assert report["judged_at"] == [QA_SIDE, 2731]
    printed = next(c for c in report["checks"] if c["name"] == "print")
    assert printed["details"]["max_print_in"] == [15.0, 10.0]  # 9000 x 6000 px at 600 DPI: the real size
    overlay = next(iter(report["overlays"].values()))
    assert Image.open(overlay).size == (QA_SIDE, 2731)  # drawn over the copy QA read

    # in the window, the tile shown is the full one: the overlays are made at its size
    full = np.zeros((6002, 8200, 3), np.uint8)
    assert judged_copy(full, "half-drop").shape[0] % 2 == 0  # the half offset stays a whole pixel
    shown = run_qa(full, "half-drop", profile="default")
    assert shown.judged_at[0] == QA_SIDE and shown.judged_at[1] % 2 == 0
    heat = next(iter(shown.overlays().values()))
    assert heat.shape == (6002, 8200)
