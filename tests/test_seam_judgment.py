"""The seam judgment on a held-out set built from the real textures (tests/seam_cases.py).

The thresholds were tuned on two thirds of the source files; the other third is held out. What
is asserted is what was measured (BENCHMARKS.md, "The seam judgment"): no good tile is ever
called broken, on either part, and each class is caught at least as often as measured, so a
change that makes the judgment worse fails here.
"""

import subprocess
import sys

import numpy as np
import pytest
from seam_cases import build

from desktop.engine.qa.report import FAIL, PASS, load_profile
from desktop.engine.qa.seam import check_seam

SEAM = load_profile()["seam"]

# measured floors per part (tune, held out), a case or two below what BENCHMARKS.md reports
FLOORS = {"crop": (0.70, 0.40), "lined crop": (0.78, 0.80), "lighting": (0.78, 0.85), "misclaimed": (0.54, 0.46),
          "photo": (0.90, 0.85)}


@pytest.fixture(scope="module")
def judged(request):
    from conftest import SHARED_DATA, SHARED_MISSING, running_in_ci

    if not SHARED_DATA.is_dir():
        if running_in_ci():
            pytest.fail(f"{SHARED_MISSING}: CI runs with ../shared beside the clone", pytrace=False)
        pytest.skip(SHARED_MISSING)
    return [(case, check_seam(case.image, case.repeat, SEAM)) for case in build(SHARED_DATA)]


def test_no_good_tile_is_called_broken(judged):
    wrong = [case.name for case, result in judged if case.tiles and result.status != PASS]
    assert wrong == []
    assert sum(case.tiles for case, _ in judged) >= 200  # seamless, structured, half-drop and half-brick tiles


@pytest.mark.parametrize("kind", sorted(FLOORS))
def test_each_class_of_broken_tile_is_caught_as_often_as_measured(judged, kind):
    for part, floor in zip((False, True), FLOORS[kind]):
        cases = [(c, r) for c, r in judged if c.kind == kind and c.held_out == part and not c.tiles]
        assert cases
        caught = sum(r.status == FAIL for _, r in cases) / len(cases)
        assert caught >= floor, (kind, "held out" if part else "tuned on", round(caught, 3))


@pytest.mark.parametrize("held_out", [False, True], ids=["tuned on", "held out"])
def test_the_seams_a_person_sees_are_judged_right(judged, held_out):
    """On the cases whose truth a person would agree with (every case but a broken wrap nobody saw in the
    blind test), at least 95 % are judged right on each part: measured 96.7 % and 95.7 % (BENCHMARKS.md)."""
    cases = [(c, r) for c, r in judged if c.held_out == held_out and c.decisive]
    assert len(cases) >= (250 if not held_out else 130)
    right = sum((r.status == PASS) == c.tiles for c, r in cases) / len(cases)
    assert right >= 0.95, round(right, 3)
    seen = [(c, r) for c, r in cases if c.seen]
    assert seen and sum(r.status == FAIL for _, r in seen) >= 0.85 * len(seen)  # measured: 57 of 58 tuned on, 20 of 23 held out


def test_the_blind_test_covers_every_broken_crop_and_misclaim(judged):
    asked = [c for c, _ in judged if c.kind in ("crop", "lined crop", "misclaimed") and not c.tiles]
    assert asked and all(c.seen is not None for c in asked)
    assert all(c.seen is None for c, _ in judged if c.tiles or c.kind in ("lighting", "photo"))
    assert 60 <= sum(c.seen for c in asked) <= 100  # 81 of 199 were seen


def test_the_old_escape_is_closed_for_lined_textures(judged):
    """A broken crop of a lined texture fails even though its lines are stronger than its edge step."""
    lined = [(c, r) for c, r in judged if c.kind == "lined crop" and not c.tiles and r.details["ratio_vs_strongest"] < 1.0]
    assert len(lined) >= 10
    assert sum(r.status == FAIL for _, r in lined) >= 0.65 * len(lined)  # measured: 17 of 25 (the old check: none)


def _stripes(h=128, w=128, period=16):
    x = np.arange(w)
    row = np.where((x % period) < period // 2, 200, 60).astype(np.uint8)
    return np.repeat(np.repeat(row[None, :, None], h, axis=0), 3, axis=2)


def test_a_line_on_the_edge_passes_and_a_cut_off_beat_fails():
    tile = _stripes()
    seamless = check_seam(tile, "basic", SEAM)
    assert seamless.status == PASS
    cut = check_seam(np.ascontiguousarray(tile[:, :124]), "basic", SEAM)  # 7.75 periods: the wrap breaks the beat
    assert cut.status == FAIL and "repeats every 16 px" in cut.explanation
    assert cut.details["edges"][0]["reason"] == "period"


def _soft_texture(seed=4, side=64):
    import cv2

    noise = np.random.default_rng(seed).normal(128, 20, (side, side))
    plane = cv2.GaussianBlur(np.tile(noise, (3, 3)), (0, 0), 2)[side:2 * side, side:2 * side]  # seamless, soft
    return np.repeat(np.clip(plane, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def _lit(tile, low=0.85, high=1.15, axis=1):
    ramp = np.linspace(low, high, tile.shape[axis])
    ramp = ramp[None, :, None] if axis == 1 else ramp[:, None, None]
    return np.clip(tile * ramp, 0, 255).astype(np.uint8)


def test_uneven_light_is_banding_in_the_sentence_and_the_overlay():
    plain = _soft_texture()
    tile = _lit(plain)
    assert check_seam(plain, "basic", SEAM).status == PASS
    result = check_seam(tile, "basic", SEAM)
    assert result.status == FAIL and result.details["reasons"] == ["banding"]
    assert result.explanation.startswith("Light banding at the left/right edges")
    heat = result.overlay
    assert heat[:, :2].mean() > 0.3 and heat[:2, 8:-8].max() == 0  # the banded edge, not the others


def test_qa_explain_prints_every_quantity_for_one_file(tmp_path):
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(_stripes()[:, :124])).save(tmp_path / "cut.png")
    run = subprocess.run([sys.executable, "-m", "desktop", "qa", str(tmp_path / "cut.png"), "--explain"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    out = run.stdout
    for quantity in ("edges[left/right].reason: period", "edges[left/right].period.period: 16",
                     "edges[left/right].step_ratio: [", "edges[left/right].wrap_rho: [",
                     "edges[left/right].joins_as_broken:", "edges[top/bottom].light_jump:", "sharpness: pass"):
        assert quantity in out, quantity
    both = subprocess.run([sys.executable, "-m", "desktop", "qa", str(tmp_path / "cut.png"), str(tmp_path / "cut.png"),
                           "--explain"], capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "--explain explains one image" in both.stderr


@pytest.mark.parametrize("repeat", ["basic", "half-drop", "half-brick"])
def test_flattening_the_light_ends_the_banding_and_keeps_the_texture(repeat):
    from desktop.engine.qa.repair import flatten_lighting

    plain = _soft_texture(seed=7)
    # a tile its repeat keeps seamless: two periods stacked for half-drop, side by side for half-brick
    plain = {"basic": plain, "half-drop": np.concatenate([plain, plain]),
             "half-brick": np.concatenate([plain, plain], axis=1)}[repeat]
    assert check_seam(plain, repeat, SEAM).status == PASS
    for axis in (1, 0):
        lit = _lit(plain, 0.88, 1.12, axis)
        assert "banding" in check_seam(lit, repeat, SEAM).details["reasons"]
        flat = flatten_lighting(lit, repeat)
        assert check_seam(flat, repeat, SEAM).status == PASS
        # the gain is gone, the texture kept: far closer to the evenly lit tile than the lit one was
        assert np.abs(flat.astype(int) - plain).mean() < 0.3 * np.abs(lit.astype(int) - plain).mean()


def test_the_loop_evens_out_the_light_before_mending_seams():
    from desktop.engine.qa import run_qa
    from desktop.engine.qa.loop import self_correct

    lit = _lit(_soft_texture(seed=9))

    def qa(image):
        return run_qa(image, "basic", None, overrides={"visibility": {"enabled": False},
                                                        "sharpness": {"enabled": False}})

    result = self_correct(lambda seed, settings: lit, qa, seed=1, repeat="basic", max_attempts=3)
    assert [a.action for a in result.attempts] == ["generate", "flatten-lighting"] and result.passed
    assert "evened out the lighting" in result.attempts[1].note


def test_repair_seam_offers_to_flatten_and_flattens(tmp_path):
    from PIL import Image

    Image.fromarray(_lit(_soft_texture(seed=9))).save(tmp_path / "lit.png")
    cmd = [sys.executable, "-m", "desktop", "repair-seam", str(tmp_path / "lit.png"), "--repeat", "basic"]
    offered = subprocess.run([*cmd, "--out", str(tmp_path / "mended.png")], capture_output=True, text=True,
                             timeout=120)
    assert offered.returncode == 0 and "run again with --flatten" in offered.stdout
    flattened = subprocess.run([*cmd, "--flatten", "--out", str(tmp_path / "flat.png"), "--json"],
                               capture_output=True, text=True, timeout=120)
    import json

    data = json.loads(flattened.stdout)
    assert data["flattened"] and data["banding_before"] and data["seam_after"]["status"] == "pass"


@pytest.mark.parametrize("size", [(2, 2), (3, 5), (8, 8), (16, 16), (17, 33), (31, 200)])
def test_tiny_tiles_are_judged_without_an_error(size):
    """A tile too small for the larger join scales is judged at those it has room for (or, under 4 px,
    by the full-size step alone): a sentence, never an internal error."""
    h, w = size
    tile = np.random.default_rng(h * 100 + w).integers(0, 255, (h, w, 3), dtype=np.uint8)
    for repeat in ("basic", "half-drop", "half-brick", "mirror"):
        result = check_seam(tile, repeat, SEAM)
        assert result.status in (PASS, FAIL) and result.explanation
