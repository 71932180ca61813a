"""The layout check: copies of one design line up, different designs with the same summary do not,
and the duplicate finder and the QA near-duplicate check decide by it."""

import cv2
import numpy as np
import pytest

from desktop.engine.images import load_rgb, save_png
from desktop.library import Library
from desktop.library import search as finder
from desktop.library.alignment import SAME_DESIGN, layout, match, match_images, spectrum, turns


def copies(src: np.ndarray) -> dict[str, np.ndarray]:
    h, w = src.shape[:2]
    hsv = cv2.cvtColor(src, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 12) % 180
    _, jpeg = cv2.imencode(".jpg", np.ascontiguousarray(np.roll(src, (h // 3, w // 5), axis=(0, 1))),
                           [cv2.IMWRITE_JPEG_QUALITY, 70])
    return {"shifted by an odd step": np.roll(src, (h * 2 // 7 + 1, w // 3 + 1), axis=(0, 1)),
            "flipped": src[:, ::-1], "turned": np.rot90(src),
            "scaled": cv2.resize(src, (w * 2 // 3, h * 2 // 3), interpolation=cv2.INTER_AREA),
            "hue-turned": cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), "inverted": 255 - src,
            "shifted and re-saved as JPEG": cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)}


@pytest.mark.parametrize("name", ["seamless/moss-plants.jpg", "seamless/pattern-aztec.png",
                                  "seamless/paper-rough-cream.png", "hard-negatives/canvas-linen-cream.png"])
def test_copies_of_a_real_tile_are_one_design(shared_textures, name):
    src = load_rgb(shared_textures / name)
    for how, copy in copies(src).items():
        assert match_images(src, np.ascontiguousarray(copy)) >= SAME_DESIGN + 0.03, how


def test_real_textures_that_share_a_summary_are_not_one_design(shared_textures):
    """The pairs the descriptor and pHash once called copies: grass, gravel and river rocks (grey
    stochastic textures) and two regular pixel grids."""
    read = {name: load_rgb(shared_textures / name) for name in (
        "hard-negatives/grass-crop-gray.png", "hard-negatives/gravel-crop-gray.png",
        "seamless/cobblestone-river-rocks.png", "seamless/floor-tiles-pixel.png", "seamless/pattern-aztec.png")}
    names = list(read)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert match_images(read[a], read[b]) < 0.3, (a, b)


def test_seeds_of_a_noise_style_are_not_one_design_but_a_shifted_one_is(tmp_path):
    from desktop.engine.generate import GenerateRequest, run_generate

    tiles = run_generate(GenerateRequest(style="fbm", repeat="basic", width=128, height=128, seed=1, count=4,
                                         out_dir=str(tmp_path), palette="art-deco"))
    imgs = [load_rgb(t.path) for t in tiles]
    for other in imgs[1:]:
        assert match_images(imgs[0], other) < SAME_DESIGN
    assert match_images(imgs[0], np.roll(imgs[0], (37, 91), axis=(0, 1))) > 0.97


def test_plain_tiles_match_each_other_and_nothing_else():
    plain = np.full((64, 64, 3), 120, np.uint8)
    assert layout(plain) is None
    assert match_images(plain, np.full((96, 96, 3), 30, np.uint8)) == 1.0
    assert match_images(plain, np.random.default_rng(1).integers(0, 255, (64, 64, 3)).astype(np.uint8)) == 0.0


def test_the_peak_between_grid_points_is_read_where_it_counts():
    """A copy shifted by one pixel of the 128-px copy (half a step of the 64x64 grid): the grid
    alone misses part of the peak; the reading between its points finds it. A pair far below the
    bar is answered from the grid alone."""
    rng = np.random.default_rng(3)
    tile = cv2.resize(rng.random((32, 32)).astype(np.float32), (256, 256), interpolation=cv2.INTER_CUBIC)
    rgb = np.repeat((np.clip(tile, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
    a, b = turns(layout(rgb)), spectrum(layout(np.roll(rgb, (2, 2), axis=(0, 1))))
    grid_only = match(a, b, at_least=2.0)
    between = match(a, b)
    assert between > 0.99 and between > grid_only + 0.01


def test_the_finder_keeps_only_pairs_whose_layouts_line_up(tmp_path, shared_textures):
    names = ["hard-negatives/grass-crop-gray.png", "hard-negatives/gravel-crop-gray.png",
             "seamless/cobblestone-river-rocks.png", "seamless/floor-tiles-pixel.png", "seamless/pattern-aztec.png"]
    aztec = load_rgb(shared_textures / "seamless/pattern-aztec.png")
    save_png(tmp_path / "aztec-shifted.png", np.ascontiguousarray(np.roll(aztec, (64, 128), axis=(0, 1))))
    save_png(tmp_path / "aztec-inverted.png", 255 - aztec)
    with Library(tmp_path / "lib") as lib:
        finder.import_into(lib, [shared_textures / n for n in names]
                           + [tmp_path / "aztec-shifted.png", tmp_path / "aztec-inverted.png"])
        titles = {p["id"]: p["title"] for p in lib.list()}
        candidates = finder.duplicate_candidates(lib)
        pairs = finder.duplicates(lib)
        found = {frozenset((titles[p["a"]], titles[p["b"]])) for p in pairs}
        assert found == {frozenset(("pattern-aztec", "aztec-shifted")), frozenset(("pattern-aztec", "aztec-inverted")),
                         frozenset(("aztec-shifted", "aztec-inverted"))}
        # what the summaries alone put forward, and the check took out
        assert frozenset(("grass-crop-gray", "gravel-crop-gray")) in {
            frozenset((titles[p["a"]], titles[p["b"]])) for p in candidates}
        assert all(p["alignment"] >= SAME_DESIGN for p in pairs)
        assert [p["alignment"] for p in pairs] == sorted((p["alignment"] for p in pairs), reverse=True)
        loose = finder.duplicates(lib, finder.Thresholds(alignment=0.0))
        assert len(loose) == len(candidates) > len(pairs)  # the bar is the user's to move


def test_the_finder_reports_progress_and_stops_when_asked(tmp_path, shared_textures):
    from desktop.jobs import JobCancelled as Cancelled

    class Ctx:
        def __init__(self, stop_after):
            self.calls, self.stop_after = [], stop_after

        def progress(self, step, total=None, message=None):
            self.calls.append((step, total, message))
            if len(self.calls) > self.stop_after:
                raise Cancelled()

    with Library(tmp_path / "lib") as lib:
        moss = load_rgb(shared_textures / "seamless/moss-plants.jpg")
        for i, copy in enumerate(copies(moss).values()):
            save_png(tmp_path / f"moss-{i}.png", np.ascontiguousarray(copy))
        finder.import_into(lib, sorted(tmp_path.glob("moss-*.png")))
        ctx = Ctx(stop_after=100)
        pairs = finder.duplicates(lib, ctx=ctx)
        assert pairs and any("layouts" in (m or "") for _, _, m in ctx.calls)
        with pytest.raises(Cancelled):
            finder.duplicates(lib, ctx=Ctx(stop_after=1))


def test_the_qa_check_tells_copies_from_look_alikes(tmp_path, shared_textures):
    from desktop.engine.qa import run_qa

    with Library(tmp_path / "lib") as lib:
        finder.import_into(lib, [shared_textures / "hard-negatives/grass-crop-gray.png",
                                 shared_textures / "seamless/moss-plants.jpg"])
        provider = finder.LibrarySimilarity(lib)

        def verdict(rgb):
            return run_qa(np.ascontiguousarray(rgb), provider=provider).check("duplicates")

        gravel = verdict(load_rgb(shared_textures / "hard-negatives/gravel-crop-gray.png"))
        assert gravel.status == "pass" and gravel.score < 0.3  # once "very like grass-crop-gray (0.99)"
        moss = load_rgb(shared_textures / "seamless/moss-plants.jpg")
        hue = copies(moss)["hue-turned"]
        recoloured = verdict(hue)
        assert recoloured.status == "fail" and "moss-plants" in recoloured.explanation  # once passed
        assert verdict(np.roll(moss, (10, 500), axis=(0, 1))).status == "fail"


def test_generation_qa_asks_the_library_and_reseeds_a_copy_of_one_of_its_designs(tmp_path):
    """A plaid whose every option is set is the same whatever the seed: the second one generated into
    a library holding the first fails QA as a near-duplicate (the loop tries other seeds, and says so); a noise style's
    new seed passes; and a variation's QA does not count the parent it was made from."""
    from desktop.engine.generate import GenerateRequest, run_generate

    pinned = {"sett": "K4 R24 K24 Y4", "repeats": 2}  # nothing left for a seed to vary
    with Library(tmp_path / "lib") as lib:
        first = run_generate(GenerateRequest(style="plaid", params=pinned, width=96, height=96, seed=1,
                                             out_dir=None))[0]
        lib.add_tile(first.image, first.metadata)
        finder.embed_pending(lib)
        similar = finder.LibrarySimilarity(lib)
        again = run_generate(GenerateRequest(style="plaid", params=pinned, width=96, height=96, seed=2, out_dir=None,
                                             auto_correct=True, max_attempts=2), similar=similar)[0]
        assert again.metadata["qa"]["failed"] == ["duplicates"]
        assert [a["action"] for a in again.metadata["attempts"]] == ["generate", "reseed"]
        fresh = run_generate(GenerateRequest(style="fbm", width=96, height=96, seed=3, out_dir=None),
                             similar=similar)[0]
        assert "duplicates" not in fresh.metadata["qa"]["failed"]
        skipped = run_generate(GenerateRequest(style="plaid", params=pinned, width=96, height=96, seed=2,
                                               out_dir=None))[0]
        assert "duplicates" not in skipped.metadata["qa"]["failed"]  # no library: not compared
        family = finder.LibrarySimilarity(lib, parents=[1])
        child = run_generate(GenerateRequest(style="plaid", params=pinned, width=96, height=96, seed=2,
                                             out_dir=None), similar=family)[0]
        assert "duplicates" not in child.metadata["qa"]["failed"]


def test_the_qa_command_checks_against_the_library_when_asked(capsys, tmp_path, shared_textures):
    import json

    from desktop.cli import main

    gingham = shared_textures / "seamless/fabric-gingham-red.jpg"
    assert main(["library", "import", str(gingham), str(shared_textures / "hard-negatives/grass-crop-gray.png")]) == 0
    save_png(tmp_path / "shifted.png", np.ascontiguousarray(np.roll(load_rgb(gingham), (100, 33), axis=(0, 1))))
    capsys.readouterr()

    def duplicates_check(*argv):
        code = main(["qa", *argv, "--json"])
        reports = json.loads(capsys.readouterr().out)["reports"]
        return code, [next(c for c in r["checks"] if c["name"] == "duplicates") for r in reports]

    code, [copy] = duplicates_check(str(tmp_path / "shifted.png"), "--against-library")
    assert code == 1 and copy["status"] == "fail" and "fabric-gingham-red" in copy["explanation"]
    code, [itself, gravel] = duplicates_check(str(gingham), str(shared_textures / "hard-negatives/gravel-crop-gray.png"),
                                              "--against-library")
    assert itself["status"] == "pass"  # the stored pattern is not a copy of itself
    assert gravel["status"] == "pass" and gravel["score"] < 0.3
    code, [unasked] = duplicates_check(str(tmp_path / "shifted.png"))
    assert unasked["status"] == "skip"  # not asked: not compared


def test_qa_finds_a_near_duplicate_within_a_batch_without_a_library():
    """Three tiles of a plaid whose every option is set (one design): the second and third are flagged
    as the first's design; three seeds of the default brief are three designs and pass."""
    from desktop.engine.generate import GenerateRequest, run_generate
    from desktop.library.alignment import BatchSimilarity

    def checks(params):
        tiles = run_generate(GenerateRequest(style="plaid", params=params, palette="art-deco", count=3, width=96,
                                             height=96, auto_correct=False), similar=BatchSimilarity())
        return [next(c for c in t.metadata["qa"]["checks"] if c["name"] == "duplicates") for t in tiles]

    same = checks({"sett": "K4 R24 K24 Y4", "repeats": 2})
    assert [c["status"] for c in same] == ["pass", "fail", "fail"]
    assert same[1]["explanation"].startswith("Very like tile 1 of this batch (similarity")
    assert [c["status"] for c in checks({})] == ["pass", "pass", "pass"]


def test_the_render_process_target_checks_the_batch(monkeypatch):
    """What the window's render process runs for a diffusion batch passes a batch checker to run_generate."""
    from desktop.engine import generate
    from desktop.library import alignment

    seen = []
    monkeypatch.setattr(generate, "run_generate", lambda request, ctx=None, similar=None: seen.append(similar) or [])
    assert alignment.generate_checking_the_batch(object()) == []
    assert isinstance(seen[0], alignment.BatchSimilarity) and seen[0].inner is None
