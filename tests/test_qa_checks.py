"""QA checks on known values and on the real textures in ../shared/data/textures."""

import csv

import cv2
import numpy as np
import pytest

from desktop.engine.images import load_rgb
from desktop.engine.qa import FAIL, PASS, SKIP, SimilarItem, load_profile, run_qa
from desktop.engine.qa.colour import contrast_ratio, delta_e2000
from desktop.engine.qa.printing import parse_print_size
from desktop.engine.qa.repair import repair_seam
from desktop.engine.qa.seam import check_seam
from desktop.errors import UserError
from desktop.palettes import parse_palette

SEAM = load_profile()["seam"]


def labels(root):
    with open(root / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def reference_ratio(img: np.ndarray) -> float:
    """The metric SOURCES.md publishes: mean wrap step ÷ mean interior step, worst axis."""
    a = img.astype(np.float64)
    out = 0.0
    for arr in (a, a.transpose(1, 0, 2)):
        inner = np.abs(np.diff(arr, axis=1)).mean()
        out = max(out, np.abs(arr[:, 0] - arr[:, -1]).mean() / max(inner, 1e-9))
    return out


# -- seams on real images ------------------------------------------------------------------------
def test_every_real_seamless_texture_passes(shared_textures):
    rows = [r for r in labels(shared_textures) if r["folder"] == "seamless"]
    assert len(rows) >= 50
    failed = [r["file"] for r in rows if check_seam(load_rgb(shared_textures / r["file"]), "basic", SEAM).status != PASS]
    assert failed == []


def test_every_hard_negative_fails(shared_textures):
    rows = [r for r in labels(shared_textures) if r["folder"] == "hard-negatives"]
    assert len(rows) >= 10
    passed = [r["file"] for r in rows if check_seam(load_rgb(shared_textures / r["file"]), "basic", SEAM).status != FAIL]
    assert passed == []


def test_crops_that_break_the_wrap_fail(shared_textures):
    """Crops whose published metric says the wrap is broken (> 2) must fail.

    Drawn and pixel-art tiles are left out: a crop that cuts along their own grout or plank
    lines cannot be told from a clean repeat by edge statistics (a known limit, in the README).
    """
    broken = 0
    for row in labels(shared_textures):
        drawn = any(key in row["file"] for key in ("pixel", "pattern-", "retro-"))
        if row["label"] != "seamless" or drawn:
            continue
        img = load_rgb(shared_textures / row["file"])
        h, w = img.shape[:2]
        crop = np.ascontiguousarray(img[h // 8:h // 8 + 3 * h // 4, w // 5:w // 5 + 3 * w // 4])
        if reference_ratio(crop) > 2.0:
            broken += 1
            assert check_seam(crop, "basic", SEAM).status == FAIL, row["file"]
    assert broken >= 15


def test_seam_repair_turns_failing_crops_into_passing_tiles(shared_textures):
    names = ["seamless/foliage-dense-leaves.jpg", "seamless/stone-mossy-rock.jpg", "seamless/lava-cracked.jpg"]
    for name in names:
        img = load_rgb(shared_textures / name)
        crop = np.ascontiguousarray(img[100:740, 150:790])
        assert check_seam(crop, "basic", SEAM).status == FAIL
        fixed = repair_seam(crop, "basic")
        assert fixed.shape == crop.shape
        assert check_seam(fixed, "basic", SEAM).status == PASS
        # the repair touches the seams, not the middle of the tile
        assert np.array_equal(fixed[200:440, 200:440], crop[200:440, 200:440])


@pytest.mark.parametrize("repeat", ["half-drop", "half-brick"])
def test_offset_repeats_are_judged_through_their_own_geometry(shared_textures, repeat):
    """A basic-seamless texture is not a valid offset tile; mended for the offset, it is."""
    img = load_rgb(shared_textures / "seamless/grass-autumn-red-leaves.jpg")
    assert check_seam(img, "basic", SEAM).status == PASS
    assert check_seam(img, repeat, SEAM).status == FAIL
    mended = repair_seam(img, repeat)
    assert check_seam(mended, repeat, SEAM).status == PASS


def test_procedural_half_drop_noise_is_seamless_only_as_half_drop():
    from desktop.engine import procedural

    tile = (procedural.render("fbm", {}, "half-drop", 256, 256, parse_palette("botanical"), 1) * 255).astype(np.uint8)
    assert check_seam(tile, "half-drop", SEAM).status == PASS
    assert check_seam(tile, "basic", SEAM).status == FAIL


def test_seam_overlay_marks_the_broken_edge():
    rng = np.random.default_rng(0)
    noise = np.tile(rng.random((128, 512, 3)).astype(np.float32), (3, 1, 1))
    smooth = cv2.GaussianBlur(noise, (0, 0), 6)[128:256, 100:228]  # wraps top/bottom, cut left/right
    tile = ((smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255).astype(np.uint8)
    result = check_seam(tile, "basic", SEAM)
    assert result.status == FAIL and result.overlay.shape == (128, 128)
    assert result.details["ratio_x"] > 2 and result.details["ratio_y"] < 1.5
    assert result.overlay[10:-10, :2].mean() > 5 * result.overlay[10:-10, 50:78].mean()


def test_mirror_is_seamless_by_construction():
    tile = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    assert check_seam(tile, "mirror", SEAM).status == PASS


# -- colour --------------------------------------------------------------------------------------
@pytest.mark.parametrize("lab1,lab2,expected", [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),  # Sharma, Wu & Dalal (2005), pair 1
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),  # pair 2
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),  # pair 7
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),  # pair 17
])
def test_ciede2000_matches_published_pairs(lab1, lab2, expected):
    assert abs(float(delta_e2000(np.array(lab1), np.array(lab2))) - expected) < 1e-3


def test_wcag_contrast_known_values():
    grey = np.array([0x77, 0x77, 0x77]) / 255
    assert abs(contrast_ratio(grey, np.ones(3)) - 4.48) < 0.01
    assert abs(contrast_ratio(np.zeros(3), np.ones(3)) - 21.0) < 1e-9


def flat_tile(colours, size=128):
    tile = np.zeros((size, size, 3), np.uint8)
    for i, c in enumerate(colours):
        tile[:, i * size // len(colours):(i + 1) * size // len(colours)] = c
    return tile


def test_palette_adherence_passes_on_palette_and_fails_off_it():
    palette = parse_palette("#1b2a49,#f4f1ea")
    on = run_qa(flat_tile([(0x1B, 0x2A, 0x49), (0xF4, 0xF1, 0xEA)]), palette=palette).check("palette")
    assert on.status == PASS and on.score < 1.0
    off = run_qa(flat_tile([(200, 40, 40), (0xF4, 0xF1, 0xEA)]), palette=palette).check("palette")
    assert off.status == FAIL and "#c82828" in off.explanation
    assert off.overlay.shape == (128, 128)
    assert off.overlay[:, :40].mean() > 0.9 and off.overlay[:, 90:].mean() < 0.1
    assert run_qa(flat_tile([(1, 2, 3)])).check("palette").status == SKIP


def test_contrast_minimum_and_tone_on_tone_maximum():
    punchy = flat_tile([(0, 0, 0), (255, 255, 255)])
    assert run_qa(punchy).check("contrast").status == PASS
    assert run_qa(punchy, profile="tone-on-tone").check("contrast").status == FAIL
    flat = flat_tile([(120, 120, 120), (124, 124, 124)])
    assert run_qa(flat).check("contrast").status == FAIL
    assert run_qa(flat, profile="tone-on-tone").check("contrast").status == PASS


# -- sharpness, print, visibility, duplicates ----------------------------------------------------------
def test_blur_and_upscaling_are_flagged_relative_to_content(shared_textures):
    img = load_rgb(shared_textures / "seamless/moss-plants.jpg")
    assert run_qa(img).check("sharpness").status == PASS
    blurred = cv2.GaussianBlur(img, (0, 0), 2)
    assert run_qa(blurred).check("sharpness").status == FAIL
    small = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
    assert run_qa(cv2.resize(small, (1024, 1024), interpolation=cv2.INTER_CUBIC)).check("sharpness").status == FAIL
    flat = np.full((128, 128, 3), 90, np.uint8)
    assert "flat" in run_qa(flat).check("sharpness").explanation


def test_jpeg_blocking_is_flagged_for_jpeg_sources(shared_textures, tmp_path):
    from PIL import Image

    from desktop.engine.images import load_rgb_with_info

    img = load_rgb(shared_textures / "seamless/paper-peach.png")
    Image.fromarray(img).save(tmp_path / "blocky.jpg", quality=8)
    blocky, info = load_rgb_with_info(tmp_path / "blocky.jpg")
    result = run_qa(blocky, image_info=info).check("sharpness")
    assert result.status == FAIL and "JPEG blocking" in result.explanation


def test_print_readiness_reports_the_largest_print():
    tile = np.zeros((1024, 1024, 3), np.uint8)
    ok = run_qa(tile).check("print")
    assert ok.status == PASS and "6.8 × 6.8 in" in ok.explanation
    big = run_qa(tile, overrides={"print": {"print_size_in": [24, 24]}}).check("print")
    assert big.status == FAIL and "3600 × 3600 px" in big.explanation
    assert parse_print_size("60x60cm") == pytest.approx((60 / 2.54, 60 / 2.54))
    assert parse_print_size("8in") == (8.0, 8.0)
    with pytest.raises(UserError):
        parse_print_size("large")


def test_repeat_visibility_catches_a_lone_blob(shared_textures):
    calm = load_rgb(shared_textures / "seamless/paper-white-laid.png")
    assert run_qa(calm).check("visibility").status == PASS
    blob = calm.copy()
    cv2.circle(blob, (300, 600), 60, (40, 40, 50), -1)
    result = run_qa(blob).check("visibility")
    assert result.status == FAIL and "lone spot" in result.explanation
    assert result.overlay[600, 300] > 2 * result.overlay[50, -50]


def test_near_duplicates_use_the_provider_hook():
    class Library:
        def nearest(self, image, k=5):
            return [SimilarItem("p-17", 0.98, "Indigo Ikat"), SimilarItem("p-3", 0.71)]

    tile = flat_tile([(10, 20, 30), (200, 200, 200)])
    assert run_qa(tile).check("duplicates").status == SKIP
    result = run_qa(tile, provider=Library()).check("duplicates")
    assert result.status == FAIL and "Indigo Ikat" in result.explanation
    assert [n["id"] for n in result.details["nearest"]] == ["p-17", "p-3"]


def test_profiles_merge_and_unknown_profiles_are_errors():
    strict = load_profile("print-strict")
    assert strict["print"]["dpi"] == 300 and strict["seam"]["enabled"] is True
    brief = load_profile("default", {"contrast": {"max_ratio": 3.0}})
    assert brief["contrast"]["max_ratio"] == 3.0 and brief["contrast"]["min_ratio"] == load_profile()["contrast"]["min_ratio"]
    with pytest.raises(UserError, match="unknown QA profile"):
        load_profile("nope")


def test_report_is_json_serialisable():
    import json

    report = run_qa(flat_tile([(10, 20, 30), (200, 200, 200)]), palette=parse_palette("monochrome"))
    data = json.loads(json.dumps(report.as_dict()))
    assert {c["name"] for c in data["checks"]} == {"seam", "palette", "contrast", "sharpness", "print",
                                                   "visibility", "duplicates"}
    assert all({"score", "threshold", "status", "explanation"} <= set(c) for c in data["checks"])


def test_the_contrast_overlay_is_relative_luminance():
    """8-bit pixels are scaled to 0..1 before the WCAG curve (they once went in as 0..255)."""
    from desktop.engine.qa import run_qa
    from desktop.engine.qa.colour import relative_luminance

    img = np.zeros((64, 64, 3), np.uint8)
    img[:, 32:] = 200
    heat = run_qa(img, "basic").overlays()["contrast"]
    assert heat[:, :24].max() < 1e-6
    assert abs(float(heat[:, 40:].mean()) - relative_luminance(np.array([200, 200, 200]) / 255)) < 1e-4


def test_overlays_are_made_when_asked_and_match_the_image(shared_textures):
    """Verdicts never wait for overlays; each overlay, once asked for, is the image's size."""
    image = load_rgb(shared_textures / "seamless/moss-plants.jpg")[:384, :512]
    report = run_qa(image, "basic", parse_palette("botanical"))
    spatial = {"seam", "palette", "contrast", "sharpness", "visibility"}
    assert {c.name for c in report.checks if c.overlay_source is not None} == spatial
    assert all(callable(report.check(name).overlay_source) for name in spatial)
    report.as_dict()  # serialising says whether there is an overlay without making it
    assert all(callable(report.check(name).overlay_source) for name in spatial)
    for name, heat in report.overlays().items():
        assert heat.shape == image.shape[:2] and heat.dtype == np.float32, name
        assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0, name
    assert report.check("seam").overlay is report.check("seam").overlay  # made once, then kept


def test_the_second_seam_view_sees_the_seam_in_the_centre(shared_textures):
    """Rolling the wrap into the middle: a cut crop's centre band outweighs its median band."""
    for name in ("moss-plants.jpg", "ferns-ground-cover.jpg", "earth-cracked-dry.jpg", "grass-rocky-ground.jpg"):
        tile = load_rgb(shared_textures / "seamless" / name)
        clean = check_seam(tile, "basic", SEAM).details["centre_band_energy_ratio"]
        crop = tile[: tile.shape[0] * 2 // 3, : tile.shape[1] * 2 // 3]
        cut = check_seam(crop, "basic", SEAM).details["centre_band_energy_ratio"]
        assert clean < 1.3 and cut > clean + 0.1, (name, clean, cut)


def _scan_of(texture: np.ndarray, period: int, side: int) -> np.ndarray:
    """A `side`-px square scan of a texture whose repeat is `period` px (a smooth enlargement): seamless
    when side == period, a wrap `period - side` px short of its repeat otherwise."""
    plane = cv2.resize(np.tile(texture, (3, 3, 1)), (3 * period, 3 * period), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(plane[period:period + side, period:period + side])


def test_a_large_scans_seams_are_judged_at_full_resolution_where_the_reduction_hides_a_misfit(
        shared_textures, monkeypatch, tmp_path, capsys):
    """A scan longer than QA_SIDE is judged on a reduced copy, which averages away a wrap one or two
    pixels off its repeat; the step rule reads the pixels either side of each wrap at full size.
    (QA_SIDE is made 1024 so a 4096 px scan stands for a 12,000 px one.)"""
    import json

    from PIL import Image

    from desktop.cli import main
    from desktop.engine import qa

    monkeypatch.setattr(qa, "QA_SIDE", 1024)
    moss = load_rgb(shared_textures / "seamless" / "moss-plants.jpg")
    good, off = _scan_of(moss, 4096, 4096), _scan_of(moss, 4098, 4096)
    assert run_qa(good, "basic").check("seam").status == PASS  # no false alarm at full resolution
    seam = run_qa(off, "basic").check("seam")
    assert seam.status == FAIL and seam.details["reasons"] == ["step"]
    assert seam.details["step_rule_at"] == [4096, 4096] and seam.details["edges"][0]["full_ratio"] > 2.0
    # the reduced copy alone does not see it: this is what the full-resolution edges add
    reduced = qa.judged_copy(off)
    assert reduced.shape[:2] == (1024, 1024) and run_qa(reduced, "basic").check("seam").status == PASS

    scan = tmp_path / "scan.png"  # the CLI reduces first and lets the full image go: same verdict
    Image.fromarray(off).save(scan, compress_level=1)
    assert main(["--json", "qa", str(scan), "--profile", "default"]) == 1
    report = json.loads(capsys.readouterr().out)["reports"][0]
    assert report["judged_at"] == [1024, 1024]
    checked = next(c for c in report["checks"] if c["name"] == "seam")
    assert checked["status"] == FAIL and checked["details"]["step_rule_at"] == [4096, 4096]


def test_column_and_row_steps_of_a_scan_are_read_in_bands_of_bounded_memory(monkeypatch):
    """The step rule's full-resolution reading costs a band of rows, not a second copy of the scan,
    and gives the numbers one pass over the whole image gives."""
    import tracemalloc

    from desktop.engine.qa import seam

    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (1500, 1200, 3), dtype=np.uint8)  # 5.4 MB
    whole = seam.step_means(img, 1), seam.step_means(img, 0)
    monkeypatch.setattr(seam, "STEP_CHUNK_BYTES", 256 << 10)  # bands of 71 rows
    tracemalloc.start()
    try:
        banded = seam.step_means(img, 1), seam.step_means(img, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert banded[0].shape == (1199,) and banded[1].shape == (1499,)
    np.testing.assert_allclose(banded[0], whole[0], rtol=1e-5)
    np.testing.assert_allclose(banded[1], whole[1], rtol=1e-5)
    assert peak < 2 << 20, peak  # the absdiff of the whole image alone would be 5.4 MB


@pytest.mark.parametrize("shape", [(1024, 1024), (2048, 1536), (1200, 1000), (1028, 2052), (900, 1800), (513, 1024)])
def test_the_analysis_copy_made_from_the_seams_halvings_is_the_one_made_from_the_tile(shape):
    """run_qa makes the seam's halved copy once and the colour checks' small copy from it: the same
    pixels as halving the tile itself, at every size (a judged copy is a prefix of the same halvings)."""
    from desktop.engine.qa import _small
    from desktop.engine.qa.seam import judged_size

    tile = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert np.array_equal(_small(judged_size(tile)), _small(tile))
