"""Colourways: the design kept, light and dark in order, seamless under every repeat."""

import numpy as np
import pytest

from desktop.engine.colourways import colourway, colourways, design_inks
from desktop.engine.images import load_rgb
from desktop.errors import UserError
from desktop.palettes import Palette, load_named, parse_palette


def three_inks() -> np.ndarray:
    """A cream ground (60 %), navy motifs (30 %) and gold accents (10 %), with soft edges."""
    import cv2

    img = np.zeros((128, 160, 3), np.uint8)
    img[:] = (240, 230, 210)
    img[:, 96:144] = (20, 30, 80)
    img[:, 144:] = (200, 160, 40)
    return cv2.GaussianBlur(img, (0, 0), 1.2, borderType=cv2.BORDER_WRAP)


def lightness(colour) -> float:
    from desktop.engine.qa.colour import srgb_to_lab

    return float(srgb_to_lab(np.asarray(colour, np.float32)[None] / 255)[0, 0])


def test_light_and_dark_stay_in_order_and_each_ink_gets_its_own_colour():
    palette = parse_palette("#f4e1d2,#d6336c,#2b2d42,#8d99ae")  # light, mid, dark, mid-light
    result = colourway(three_inks(), palette)
    assert len(result.inks.colors) == 3  # the soft edges' blends are not inks of their own
    assert len(set(result.mapping)) == 3
    pairs = [(lightness(result.inks.colors[i]), lightness(palette.colors[j])) for i, j in enumerate(result.mapping)]
    by_ink = [target for _, target in sorted(pairs)]
    assert by_ink == sorted(by_ink)  # the darkest ink takes the darkest colour it can, and so on
    facts = result.as_dict()
    assert facts["palette"]["colors"] == palette.hex and facts["inks"][0]["share"] > 0.5  # the ground first


def test_flat_colourways_are_made_of_the_palette_alone():
    palette = load_named("botanical")
    result = colourway(three_inks(), palette, flat=True)
    used = {tuple(c) for c in result.image.reshape(-1, 3)}
    assert used <= set(palette.colors) and len(used) == 3


@pytest.mark.parametrize("repeat", ["basic", "half-drop", "half-brick", "mirror"])
def test_a_seamless_tile_stays_seamless_under_its_repeat(tmp_path, repeat):
    from desktop.engine.generate import GenerateRequest, run_generate
    from desktop.engine.qa import run_qa

    tile = run_generate(GenerateRequest(style="toss", repeat=repeat, width=192, height=192, seed=5,
                                        out_dir=str(tmp_path), palette="art-deco"))[0]
    src = load_rgb(tile.path)
    palette = load_named("indigo-dye")
    result = colourway(src, palette)
    report = run_qa(result.image, repeat=repeat, palette=palette)
    assert report.check("seam").status == "pass"
    assert report.check("palette").status == "pass"  # the tile is now in the colourway's palette
    # the map is the same for every pixel: moving the tile moves the colourway, exactly
    shifted = colourway(np.roll(src, (37, 91), axis=(0, 1)), palette, inks=result.inks)
    assert np.array_equal(shifted.image, np.roll(result.image, (37, 91), axis=(0, 1)))


def test_a_real_textile_keeps_its_weave(shared_textures):
    from desktop.library.alignment import match_images

    src = load_rgb(shared_textures / "seamless/fabric-gingham-red.jpg")
    made = colourways(src, [load_named("indigo-dye"), load_named("botanical"), parse_palette("#000000,#ffffff")])
    for result in made:
        assert match_images(src, result.image) > 0.9  # the same design, in other colours
        assert not np.array_equal(result.image, src)
    assert len(made[2].inks.colors) == 2  # a two-colour palette takes the design's two main inks


def test_alpha_is_kept_and_bad_input_is_refused():
    rgba = np.dstack([three_inks(), np.full((128, 160), 200, np.uint8)])
    result = colourway(rgba, load_named("sorbet"))
    assert result.image.shape == (128, 160, 4) and (result.image[..., 3] == 200).all()
    with pytest.raises(UserError, match="8-bit RGB"):
        colourway(three_inks().astype(np.float32) / 255, load_named("sorbet"))
    with pytest.raises(UserError, match="at least one palette"):
        colourways(three_inks(), [])


def test_a_one_colour_palette_keeps_the_shading():
    result = colourway(three_inks(), Palette(((120, 40, 60),), name="one"))
    assert len(design_inks(three_inks(), 1).colors) == 1
    assert len({tuple(c) for c in result.image.reshape(-1, 3)}) > 3  # tone on tone, not one flat colour


def test_the_sheet_shows_each_colourway_through_its_repeat():
    from desktop.engine.colourways import sheet
    from desktop.repeat import repeat_view

    tile = three_inks()[:, :128]
    made = colourways(tile, [load_named("sorbet")])
    page = sheet(tile, made, "half-drop", cell=256, columns=2)
    assert page.shape == (16 + 256 + 14 + 26 + 16, 2 * 256 + 3 * 16, 3)
    view = repeat_view(made[0].image, "half-drop", 2, 2)  # 256 x 256: shown at its own size
    assert np.array_equal(page[16:16 + 256, 16 + 256 + 16:16 + 512 + 16], view)
    swatch_row = page[16 + 256 + 6, 16 + 256 + 16:16 + 512 + 16]
    assert {tuple(c) for c in swatch_row} == set(load_named("sorbet").colors)


def test_a_sheet_shows_each_pattern_on_a_product_with_its_printed_size(tmp_path):
    import cv2

    from desktop.engine import mockups
    from desktop.engine.images import read_metadata, save_png
    from desktop.engine.sheet import GAP, LABEL_H, NOTE_H, SWATCH_H
    from desktop.library import Library
    from desktop.library.export import export_sheet

    tile = three_inks()[:, :128]
    save_png(tmp_path / "for-print.png", tile, {"style": "inks", "dpi": 300})
    with Library(tmp_path / "lib") as lib:
        made_for_print = lib.import_file(tmp_path / "for-print.png").added[0]
        plain = lib.add_tile(tile[::-1].copy(), {"style": "inks", "repeat": "half-drop"}).added[0]
        out = export_sheet(lib, [made_for_print, plain], tmp_path / "sheet.png", cell=200, columns=2,
                           mockup="wall", default_dpi=100)
        page = load_rgb(out)
        wall_w, wall_h = mockups.PRODUCTS["wall"].size
        scene_h = round(200 * wall_h / wall_w)
        assert page.shape == (GAP + 200 + scene_h + GAP // 2 + SWATCH_H + LABEL_H + NOTE_H + GAP, 2 * 200 + 3 * GAP, 3)
        for column, (pid, dpi) in enumerate(((made_for_print, 300), (plain, 100))):
            item = lib.get(pid)
            wall = mockups.render(tile if pid == made_for_print else tile[::-1].copy(), item["repeat"], "wall",
                                  (128 / dpi, 256 / dpi)).image
            left, top = GAP + column * (200 + GAP), GAP + 200 + GAP // 2
            shown = page[top:top + scene_h, left:left + 200].astype(int)
            expected = cv2.resize(wall, (200, scene_h), interpolation=cv2.INTER_AREA).astype(int)
            assert np.abs(shown - expected).mean() < 2  # each on the wall at its own printed size
        assert read_metadata(out)["sheet"] == {"patterns": [made_for_print, plain], "mockup": "wall"}
        with pytest.raises(Exception, match="unknown product 'teapot'"):
            export_sheet(lib, [plain], tmp_path / "no.png", mockup="teapot")
        assert not (tmp_path / "no.png").exists()


def test_progress_is_reported_for_each_palette():
    calls = []
    colourways(three_inks(), [load_named("sorbet"), load_named("scandi")],
               progress=lambda step, total, message: calls.append((step, total)))
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_the_command_writes_stores_and_collects_colourways(capsys, tmp_path, shared_textures):
    import json

    from desktop.cli import main
    from desktop.engine.images import read_metadata
    from desktop.library import Library
    from desktop.library.collections import member_ids

    src = str(shared_textures / "seamless/fabric-gingham-red.jpg")
    assert main(["library", "import", src]) == 0
    capsys.readouterr()
    code = main(["colourways", src, "--palette", "indigo-dye", "--palette", "#1b4332,#f1faee", "--out",
                 str(tmp_path / "out"), "--to-library", "--collection", "Gingham", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and len(result["written"]) == 2 and result["parent"] == 1
    meta = read_metadata(result["written"][0])
    assert meta["parents"] == [1] and meta["palette"]["name"] == "indigo-dye"
    assert meta["title"] == "fabric-gingham-red · indigo-dye" and len(meta["colourway"]["inks"]) == 5
    from desktop.config import resolve_paths

    with Library(resolve_paths().library_dir) as lib:
        child = lib.get(result["library_ids"][0])
        assert child["title"] == "fabric-gingham-red · indigo-dye" and child["provenance"]["parents"] == [1]
        assert sorted(member_ids(lib, "Gingham")) == [1, *result["library_ids"]]
    code = main(["colorways", src, "--out", str(tmp_path / "out")])  # the US spelling too
    assert code == 2 and "--palette" in capsys.readouterr().err
    code = main(["colourways", src, "--palette", "sorbet", "--collection", "x", "--out", str(tmp_path / "o")])
    assert code == 2 and "--to-library" in capsys.readouterr().err
    code = main(["colourways", str(tmp_path / "missing.png"), "--palette", "sorbet", "--out", str(tmp_path / "o")])
    assert code == 2 and "no such file" in capsys.readouterr().err
    assert main(["colourways", src, "--all-palettes", "--flat", "--out", str(tmp_path / "all"),
                 "--sheet", str(tmp_path / "sheet.png")]) == 0
    from desktop.palettes import palette_names

    assert len(list((tmp_path / "all").glob("*.png"))) == len(palette_names())
    code = main(["library", "sheet", "1", *map(str, result["library_ids"]), "--out", str(tmp_path / "lib.png"),
                 "--cell", "128", "--columns", "3"])
    from desktop.engine.sheet import NOTE_H

    # each pattern's caption has a second line: how it was made (the AI disclosure)
    assert code == 0 and load_rgb(tmp_path / "lib.png").shape == (128 + 14 + 26 + NOTE_H + 2 * 16, 3 * 128 + 4 * 16, 3)
    capsys.readouterr()
    code = main(["library", "sheet", "1", "77", "--out", str(tmp_path / "bad.png")])
    assert code == 2 and "no pattern 77" in capsys.readouterr().err and not (tmp_path / "bad.png").exists()
    sheet = load_rgb(tmp_path / "sheet.png")  # the source and every colourway, four to a row
    rows = -(-(len(palette_names()) + 1) // 4)
    assert sheet.shape[1] == 4 * 320 + 5 * 16 and sheet.shape[0] == rows * (320 + 14 + 26) + (rows + 1) * 16

