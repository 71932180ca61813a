"""Product mockups: the repeat is sampled through the repeat geometry at true print scale."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.engine import mockups
from desktop.engine.images import load_rgb, read_metadata, save_png
from desktop.errors import UserError
from desktop.repeat import REPEATS, RepeatError, window


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("repeat", REPEATS)
def test_sampling_at_full_resolution_is_the_repeat_geometry(repeat):
    """At one texel per rendered pixel, sampling texel centres over a window that spans several
    tiles (negative positions too) gives exactly repeat.window: a half-drop drops, a mirror mirrors."""
    tile = _noise(24, 32, seed=3)
    tile_in = (32 / 16, 24 / 16)  # 16 texels an inch
    ys, xs = np.mgrid[-30:50, -40:70].astype(np.float64)
    u, v = (xs + 0.5) / 16, (ys + 0.5) / 16
    got = mockups.sample(tile, repeat, tile_in, u, v, ppi_near=16.0)
    want = window(tile, repeat, -40, -30, 110, 80).astype(np.float32)
    np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.parametrize("repeat", REPEATS)
def test_sampling_between_texels_is_bilinear_across_tile_edges(repeat):
    """Between texel centres the colour is the bilinear mix of the four texels around the point,
    those four found through the repeat geometry, so the mix across a half-drop's edge is the
    dropped neighbour's, and a mirror's is its reflection."""
    tile = _noise(24, 32, seed=5)
    rng = np.random.default_rng(1)
    px = rng.uniform(-40, 70, (60, 70))  # plane positions in texels, over several tiles
    py = rng.uniform(-30, 50, (60, 70))
    got = mockups.sample(tile, repeat, (2.0, 1.5), (px + 0.5) / 16, (py + 0.5) / 16, ppi_near=16.0)
    plane = window(tile, repeat, -41, -31, 113, 83).astype(np.float64)
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = (px - x0)[..., None], (py - y0)[..., None]
    xi, yi = x0 + 41, y0 + 31
    want = (plane[yi, xi] * (1 - fx) * (1 - fy) + plane[yi, xi + 1] * fx * (1 - fy)
            + plane[yi + 1, xi] * (1 - fx) * fy + plane[yi + 1, xi + 1] * fx * fy)
    np.testing.assert_allclose(got, want, atol=0.02)


def test_a_reduced_tile_keeps_its_half_drop():
    """Reduced for a distant view, a half-drop's second column still starts half a tile down."""
    tile = np.full((200, 200, 3), 255, np.uint8)
    tile[:20] = 0  # a dark band across the top of each tile
    u = np.array([[1.0], [5.0]]) * np.ones((1, 400))  # the middle of columns 0 and 1 (4 in tiles)
    v = np.tile(np.linspace(0, 8, 400, endpoint=False), (2, 1))
    got = mockups.sample(tile, "half-drop", (4.0, 4.0), u, v, ppi_near=12.0)[..., 0]
    dark = got < 128
    first = v[0][dark[0]]
    second = v[1][dark[1]]
    assert first.min() == pytest.approx(0.0, abs=0.05) and first.max() < 4.5
    assert second.min() == pytest.approx(2.0, abs=0.1)  # dropped by half of 4 in


def test_the_swatch_shows_one_tile_per_print_width():
    """A 4 in tile with one dark stripe: nine stripes across the swatch's 36 in width."""
    tile = np.full((100, 200, 3), 240, np.uint8)
    tile[:, 80:120] = 20
    made = mockups.render(tile, "basic", "swatch", mockups.tile_inches(200, 100, dpi=50))
    assert made.tile_in == (4.0, 2.0) and made.repeats[0] == pytest.approx(9.0)
    h, w = made.image.shape[:2]
    row = made.image[h // 2, int(0.08 * w):, 0] < 128
    stripes = int(np.count_nonzero(row[1:] & ~row[:-1]) + row[0])
    assert stripes == 9


@pytest.mark.parametrize("product", list(mockups.PRODUCTS))
def test_every_product_shows_the_tile(product):
    tile = np.zeros((64, 64, 3), np.uint8)
    tile[...] = (200, 30, 40)
    made = mockups.render(tile, "half-brick", product, (6.0, 6.0))
    width, height = mockups.PRODUCTS[product].size
    assert made.image.shape == (height, width, 3) and made.image.dtype == np.uint8
    r, g = made.image[..., 0].astype(int), made.image[..., 1].astype(int)
    red = np.mean((r > g + 60) & (r > 80))
    assert red > 0.2, f"only {red:.0%} of the {product} mockup shows the red tile"
    assert np.array_equal(made.image, mockups.render(tile, "half-brick", product, (6.0, 6.0)).image)


def test_a_render_stops_between_its_stages_when_asked():
    from desktop.jobs import JobCancelled

    calls = []

    def check():
        calls.append(1)
        if len(calls) == 2:  # after the scene and the sampling: before the compositing
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        mockups.render(_noise(64, 64), "basic", "wall", (6.0, 6.0), check_cancelled=check)
    assert len(calls) == 2
    mockups.render(_noise(64, 64), "basic", "wall", (6.0, 6.0), check_cancelled=lambda: None)  # not asked: it ends


def test_the_wall_is_to_scale():
    """The back wall is 8 ft to the top of the picture; a 12 in tile repeats 8 times down it."""
    made = mockups.render(_noise(64, 64), "basic", "wall", (12.0, 12.0))
    assert made.surface_in[1] == 96.0 and made.repeats[1] == pytest.approx(8.0)
    assert made.metadata({"title": "Fans", "sha256": "ab"})["mockup"]["source_title"] == "Fans"


def test_tile_sizes():
    assert mockups.tile_inches(300, 150, dpi=150) == (2.0, 1.0)
    assert mockups.tile_inches(300, 150, size="10in") == (10.0, 5.0)  # the height follows the shape
    assert mockups.tile_inches(300, 150, size="25.4cm") == pytest.approx((10.0, 5.0))
    assert mockups.tile_inches(300, 150, size="8x8in") == (8.0, 8.0)
    for bad in ("wide", "0in", "-3cm"):
        with pytest.raises(UserError, match="like 24x24in"):
            mockups.tile_inches(300, 150, size=bad)
    with pytest.raises(UserError, match="too small"):
        mockups.tile_inches(10, 10, dpi=2400)
    with pytest.raises(UserError, match="DPI"):
        mockups.tile_inches(10, 10, dpi=5)


def test_bad_requests_are_refused_in_words():
    with pytest.raises(UserError, match=r"unknown product 'mug'.*wall"):
        mockups.render(_noise(8, 8), "basic", "mug", (1, 1))
    with pytest.raises(RepeatError, match="must be even"):
        mockups.render(_noise(9, 8), "half-drop", "swatch", (1, 1))
    with pytest.raises(UserError, match="in' or 'cm'"):
        mockups.render(_noise(8, 8), "basic", "swatch", (1, 1), units="ft")


def test_an_import_leaves_mockups_and_sheets_out(tmp_path):
    from desktop.library import Library
    from desktop.library.export import export_sheet

    with Library(tmp_path / "lib") as library:
        _import_around_mockups(tmp_path, library, export_sheet)


def _import_around_mockups(tmp_path, library, export_sheet):
    made = mockups.render(_noise(32, 32), "basic", "cushion", (4.0, 4.0))
    folder = tmp_path / "out"
    save_png(folder / "cushion.png", made.image, made.metadata())
    save_png(folder / "tile.png", _noise(32, 32, seed=1), {"repeat": "basic"})
    changes = library.import_paths([folder])
    assert len(changes.added) == 1 and [i["reason"] for i in changes.ignored] == [
        "a product mockup Tessera made, not a tile"]
    assert "left out 1 mockup(s), sheet(s) and swatch(es)" in changes.import_summary()
    sheet = tmp_path / "sheet.png"
    export_sheet(library, changes.added, sheet)
    again = library.import_paths([sheet])
    assert not again.added and again.ignored[0]["reason"].startswith("a presentation sheet")


def test_cli_mockups_with_scale_from_the_png(tmp_path, capsys):
    tile = tmp_path / "tile.png"
    save_png(tile, _noise(200, 200), {"repeat": "half-drop", "dpi": 100, "title": "Static"})
    out = tmp_path / "mockups"
    assert main(["mockup", str(tile), "--product", "swatch", "--product", "cushion", "--out", str(out),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [m["product"] for m in report["mockups"]] == ["swatch", "cushion"]
    assert report["mockups"][0]["tile_in"] == [2.0, 2.0] and report["mockups"][0]["repeat"] == "half-drop"
    written = [Path(p) for p in report["written"]]
    assert [p.name for p in written] == ["tile-swatch.png", "tile-cushion.png"]
    meta = read_metadata(written[0])["mockup"]
    assert meta["source_title"] == "Static" and meta["repeats"] == [18.0, pytest.approx(13.35, abs=0.01)]
    assert meta["source_file"] == str(tile) and len(meta["source_sha256"]) == 64
    assert load_rgb(written[1]).shape == (900, 900, 3)

    assert main(["mockup", str(tile), "--all-products", "--tile-size", "30cm", "--units", "cm",
                 "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["written"]) == len(mockups.PRODUCTS)
    assert report["mockups"][0]["tile_in"] == [pytest.approx(11.811, abs=1e-3)] * 2


def test_cli_mockup_errors(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert main(["mockup", str(bad), "--out", str(tmp_path)]) == 2
    assert "bad.png" in capsys.readouterr().err
    tile = tmp_path / "t.png"
    save_png(tile, _noise(16, 16), {})
    with pytest.raises(SystemExit) as exited:
        main(["mockup", str(tile), "--product", "mug", "--out", str(tmp_path)])
    assert exited.value.code == 2 and "invalid choice: 'mug'" in capsys.readouterr().err
    assert main(["mockup", str(tile), "--tile-size", "huge", "--out", str(tmp_path)]) == 2
    assert "like 24x24in" in capsys.readouterr().err


def test_a_real_texture_on_every_product(shared_textures):
    tile = load_rgb(shared_textures / "seamless" / "fabric-gingham-red.jpg")
    for product in mockups.PRODUCTS:
        made = mockups.render(tile, "mirror", product, (4.0, 4.0))
        assert made.image.std() > 10  # a picture, not a flat field


def test_library_mockups_of_chosen_patterns(tmp_path, capsys):
    from desktop.library import Library

    root = tmp_path / "lib"
    with Library(root) as lib:
        first = lib.add_tile(_noise(100, 100), {"repeat": "half-drop", "dpi": 50, "title": "Gilded fans"}).pattern_id
        second = lib.add_tile(_noise(64, 64, seed=2), {"repeat": "mirror", "title": "Moss"}).pattern_id
        lib.update(second, status="approved")
    out = tmp_path / "m"
    assert main(["--library", str(root), "library", "mockup", "--status", "approved", "--product", "wall",
                 "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["written"] == [str(out / f"{second:06d}-moss-wall.png")]
    assert report["mockups"][0]["source_library_id"] == second and report["mockups"][0]["repeat"] == "mirror"
    assert main(["--library", str(root), "library", "mockup", str(first), "--out", str(out), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["mockups"][0]
    assert shown["tile_in"] == [2.0, 2.0] and shown["repeat"] == "half-drop"  # its own DPI and repeat
    assert main(["--library", str(root), "library", "mockup", "--out", str(out)]) == 2
    assert "name the pattern IDS" in capsys.readouterr().err
    with Library(root) as lib:
        assert lib.count() == 2  # nothing written into it


def test_a_tile_size_reads_once_with_its_unit():
    assert mockups.tile_size_text((1.7066, 1.7066)) == "1.71 by 1.71 in"
    assert mockups.tile_size_text((1.7066, 1.7066), "cm") == "4.3 by 4.3 cm"
    assert mockups.tile_size_text((12.5, 3.0)) == "12.5 by 3.00 in"
