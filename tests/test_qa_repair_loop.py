"""Repairs (seam, recolour, spot colours) and the self-correcting loop."""

import numpy as np
import pytest

from desktop.engine import procedural
from desktop.engine.qa import run_qa
from desktop.engine.qa.loop import choose_action, self_correct
from desktop.engine.qa.repair import recolour, reduce_colours, separations
from desktop.errors import UserError
from desktop.palettes import parse_palette
from seams import seam_ratios

PALETTE = parse_palette("#1b2a49,#c2562e,#f2e8cf")


def noise_tile(repeat="basic", seed=1, size=128):
    img = procedural.render("fbm", {"scale": 2}, repeat, size, size, parse_palette("#000000,#ffffff"), seed)
    return (img * 255).astype(np.uint8)


def test_recolour_maps_every_pixel_to_the_palette():
    result = recolour(noise_tile(), PALETTE)
    pixels = {tuple(p) for p in result.image.reshape(-1, 3)}
    assert pixels <= set(PALETTE.colors) and len(pixels) >= 2
    assert result.labels.shape == (128, 128)


def test_dithered_recolour_stays_seamless():
    tile = noise_tile("half-drop")
    plain = recolour(tile, PALETTE).image
    dithered = recolour(tile, PALETTE, dither=True)
    assert dithered.dithered and not np.array_equal(dithered.image, plain)
    assert max(seam_ratios(dithered.image, "half-drop")) < 1.3


def test_reduce_to_spot_colours_and_separations():
    result = reduce_colours(noise_tile(), 3)
    assert len(result.palette.colors) == 3
    assert len({tuple(p) for p in result.image.reshape(-1, 3)}) == 3
    masks = separations(result)
    assert len(masks) == 3
    total = sum((mask > 0).astype(int) for _, mask in masks)
    assert np.all(total == 1)  # every pixel prints in exactly one ink
    with pytest.raises(UserError):
        reduce_colours(noise_tile(), 0)


def broken_crop(seed):
    """A generator that returns tiles with a broken wrap (crops of a larger noise field)."""
    big = noise_tile(size=192, seed=seed)
    return np.ascontiguousarray(big[20:148, 33:161])


def test_loop_mends_a_broken_seam_and_records_every_attempt():
    calls = []

    def generate(seed, settings):
        calls.append(seed)
        return broken_crop(seed)

    def qa(image):
        return run_qa(image, "basic", None, overrides={"visibility": {"enabled": False}, "contrast": {"enabled": False},
                                                       "sharpness": {"enabled": False}})

    result = self_correct(generate, qa, seed=5, repeat="basic", max_attempts=4)
    assert result.passed
    assert [a.action for a in result.attempts] == ["generate", "repair-seam"]
    assert result.attempts[0].report.failed == ["seam"] and result.attempts[1].report.passed
    assert calls == [5]  # mending kept the design: no new seed was drawn
    assert result.attempts[1].as_dict()["checks"]["seam"]["status"] == "pass"


def test_loop_recolours_off_palette_tiles():
    def generate(seed, settings):
        img = np.zeros((64, 64, 3), np.uint8)
        img[:, :32] = (70, 110, 190)  # a bright blue, far from the navy it will map to
        img[:, 32:] = PALETTE.colors[2]
        return img

    def qa(image):
        return run_qa(image, "basic", PALETTE, overrides={"visibility": {"enabled": False}, "sharpness": {"enabled": False}})

    result = self_correct(generate, qa, seed=1, repeat="basic", palette=PALETTE, max_attempts=3)
    assert result.passed and [a.action for a in result.attempts] == ["generate", "recolour"]


def test_loop_reseeds_until_it_passes_and_stops_at_its_budget():
    good_seed = []

    def generate(seed, settings):
        img = np.full((64, 64, 3), 128, np.uint8)
        if len(good_seed) < 2:  # the first two designs are flat
            good_seed.append(seed)
            return img
        img[:, ::2] = 20
        return img

    def qa(image):
        return run_qa(image, "basic", None, overrides={"sharpness": {"enabled": False}})

    result = self_correct(generate, qa, seed=3, repeat="basic", max_attempts=5)
    assert result.passed
    assert [a.action for a in result.attempts] == ["generate", "reseed", "reseed"]
    assert len({a.seed for a in result.attempts}) == 3

    def never(seed, settings):
        return np.full((32, 32, 3), 100, np.uint8)

    capped = self_correct(never, qa, seed=0, repeat="basic", max_attempts=3)
    assert not capped.passed and len(capped.attempts) == 3


def test_policy_prefers_fixes_that_keep_the_design():
    from desktop.engine.qa import QAReport
    from desktop.engine.qa.report import CheckResult

    def report(*failed):
        return QAReport(8, 8, "basic", "default",
                        [CheckResult(name, name, "fail", 1.0, 0.5, "") for name in failed])

    assert choose_action(report("seam", "palette"), set(), PALETTE, False) == "repair-seam"
    assert choose_action(report("seam", "palette"), {"repair-seam"}, PALETTE, False) == "recolour"
    assert choose_action(report("palette"), {"recolour"}, PALETTE, True) == "guidance"
    assert choose_action(report("visibility"), set(), PALETTE, False) == "reseed"


def test_generation_with_auto_correct_records_provenance(tmp_path):
    from desktop.engine.generate import GenerateRequest, run_generate
    from desktop.engine.images import read_metadata

    request = GenerateRequest(style="toss", repeat="half-drop", width=128, height=128, palette="botanical",
                              seed=2, out_dir=str(tmp_path), auto_correct=True, max_attempts=3)
    tile = run_generate(request)[0]
    meta = read_metadata(tile.path)
    assert meta["qa"]["checks"] and "passed" in meta["qa"]
    assert 1 <= len(meta["attempts"]) <= 3
    assert meta["attempts"][0]["action"] == "generate"
