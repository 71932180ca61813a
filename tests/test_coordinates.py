"""Coordinates: plainer patterns in a hero tile's own inks (desktop/engine/coordinates.py), from the
engine, the command line and Tile ▸ Coordinates…."""

import hashlib
import json

import numpy as np
import pytest

from conftest import one_pattern_shown
from desktop.cli import main
from desktop.engine.coordinates import KIND_NAMES, SAME, SNAP, TONE, coordinates, hero_inks
from desktop.engine.images import read_metadata, save_png
from desktop.engine.qa import run_qa
from desktop.engine.qa.colour import srgb_to_lab
from desktop.errors import UserError
from desktop.palettes import Palette, parse_palette
from seams import seam_ratios

INKS = parse_palette("#f2e8cf,#1b2a49,#c2562e,#7fb77e")  # cream ground, navy, rust, sage


def hero(repeat="half-drop", size=(192, 160)):
    """Three inks on a cream ground (antialiased discs, each ink a tenth of it or more), as a
    library hero would be: the discs lie inside the tile, so it repeats under any repeat."""
    import cv2

    image = np.empty((size[1], size[0], 3), np.uint8)
    image[:] = INKS.colors[0]
    for k, (x, y) in enumerate(((0.25, 0.3), (0.7, 0.35), (0.45, 0.75), (0.8, 0.8), (0.15, 0.8), (0.5, 0.12))):
        colour = tuple(int(c) for c in INKS.colors[1 + k % 3])
        cv2.circle(image, (round(x * size[0] * 16), round(y * size[1] * 16)), round(0.11 * size[1] * 16), colour,
                   -1, cv2.LINE_AA, 4)
    return image


def gap_to_mixes(image: np.ndarray, palette: Palette) -> np.ndarray:
    """Each pixel's distance (levels, worst channel) to the nearest mix of two of the palette's inks."""
    pixels = image.reshape(-1, 3).astype(np.float64)
    inks = np.asarray(palette.colors, np.float64)
    gap = np.abs(pixels[:, None] - inks[None]).max(-1).min(-1)
    for a in range(len(inks)):
        for b in range(a + 1, len(inks)):
            span = inks[b] - inks[a]
            t = np.clip((pixels - inks[a]) @ span / (span @ span), 0, 1)
            gap = np.minimum(gap, np.abs(pixels - (inks[a] + t[:, None] * span)).max(-1))
    return gap


def delta_e(a, b) -> float:
    lab = srgb_to_lab(np.asarray([a, b], np.uint8)).reshape(-1, 3)
    return float(np.linalg.norm(lab[0] - lab[1]))


def test_the_heros_inks_are_found_ground_first_and_snapped_to_its_palette():
    inks = hero_inks(hero())
    assert delta_e(inks.colors[0], INKS.colors[0]) < SAME  # the cream covers most
    for want in INKS.colors:
        assert min(delta_e(want, got) for got in inks.colors) < SAME
    snapped = hero_inks(hero(), INKS)
    assert set(snapped.colors) <= set(INKS.colors) and snapped.colors[0] == INKS.colors[0]
    # two inks of the hero that are one colour of its brief become that colour, once
    a, b, brief = (188, 70, 40), (205, 105, 62), (196, 88, 50)
    assert delta_e(a, b) > SAME and delta_e(a, brief) < SNAP and delta_e(b, brief) < SNAP
    two_rusts = np.full((64, 64, 3), INKS.colors[0], np.uint8)
    two_rusts[:20, :20], two_rusts[40:, 40:] = a, b
    inks = hero_inks(two_rusts, Palette((INKS.colors[0], brief)))
    assert inks.colors == (INKS.colors[0], brief) and sum(inks.weights) == pytest.approx(1.0)
    # two inks k-means would split (a brown and a brown 3 levels off) are one
    two_browns = np.zeros((64, 64, 3), np.uint8)
    two_browns[:, :32], two_browns[:, 32:] = (99, 67, 48), (96, 64, 45)
    two_browns[20:30, 20:30] = (240, 220, 200)
    assert len(hero_inks(two_browns).colors) == 2


@pytest.mark.parametrize("repeat", ["basic", "half-drop", "half-brick", "mirror"])
def test_every_coordinate_is_the_heros_size_and_seamless_under_its_repeat(repeat):
    made = coordinates(hero(repeat), repeat, palette=INKS)
    assert [c.kind.name for c in made] == list(KIND_NAMES)
    for c in made:
        assert c.image.shape == (160, 192, 3) and c.image.dtype == np.uint8
        assert run_qa(c.image, repeat).check("seam").status == "pass", c.kind.name
        # the step across the wrap is an ordinary one (a stripe's edge may fall on it unblended)
        rx, ry = seam_ratios(c.image.astype(np.float32) / 255, repeat)
        assert rx <= 1.2 and ry <= 1.2, (c.kind.name, rx, ry)
    again = coordinates(hero(repeat), repeat, palette=INKS)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(made, again))


def test_coordinates_are_in_the_heros_inks_and_share_them_out():
    made = {c.kind.name: c for c in coordinates(hero(), "half-drop", palette=INKS)}
    used = set()
    for name, c in made.items():
        assert set(c.palette.colors) <= set(INKS.colors) or name == "texture"
        assert c.palette.colors[0] == INKS.colors[0]
        if name != "texture":  # each accent stands out from the ground
            used |= set(c.palette.colors[1:])
            assert all(delta_e(ink, c.palette.colors[0]) >= SAME * 1.5 for ink in c.palette.colors[1:])
        # what is drawn is those inks, and mixes of two of them (an antialiased edge, a gingham's
        # crossing, a texture's shading)
        assert (gap_to_mixes(c.image, c.palette) <= 2.0).mean() > 0.95, name  # (where three meet: the rest)
    assert used == set(INKS.colors[1:])  # every ink of the hero is used by some coordinate
    texture = made["texture"].palette
    assert delta_e(*texture.colors) <= TONE  # tone on tone


def test_a_one_ink_hero_still_gets_coordinates_that_show():
    plain = np.full((64, 64, 3), (30, 40, 70), np.uint8)
    for c in coordinates(plain, "basic", ("spot", "texture")):
        assert len(c.palette.colors) == 2 and delta_e(*c.palette.colors) > 5
        assert c.image.std() > 3


def test_bad_requests_are_clear_errors():
    with pytest.raises(UserError, match="unknown coordinate plaid"):
        coordinates(hero(), "basic", ("stripe", "plaid"))
    with pytest.raises(UserError, match="8-bit RGB"):
        coordinates(np.zeros((8, 8), np.float32))


def test_a_coordinates_metadata_names_its_hero():
    c = coordinates(hero(), "half-drop", ("spot",), palette=INKS)[0]
    meta = c.metadata({"dpi": 300, "style": "toss", "prompt": "not mine", "parents": [1]}, 42, "Meadow")
    assert meta["style"] == "polka-dots" and meta["params"]["radius"] == pytest.approx(0.22)
    assert meta["parents"] == [42] and meta["title"] == "Meadow · spot" and meta["dpi"] == 300
    assert meta["coordinate"] == {"kind": "spot", "of": "Meadow"} and "prompt" not in meta
    assert "parents" not in c.metadata({}, None, "Meadow")


def test_the_cli_writes_coordinates_a_sheet_and_a_collection(capsys, tmp_path):
    lib = str(tmp_path / "lib")
    path = tmp_path / "meadow.png"
    save_png(path, hero(), {"repeat": "half-drop", "palette": INKS.as_dict(), "title": "Meadow", "dpi": 300})
    assert main(["--library", lib, "library", "import", str(path)]) == 0
    capsys.readouterr()
    code = main(["--library", lib, "coordinates", str(path), "--kind", "stripe", "--kind", "texture",
                 "--out", str(tmp_path / "out"), "--to-library", "--collection", "Meadow", "--sheet",
                 str(tmp_path / "sheet.png"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out["written"]) == 2 and out["parent"] == 1
    stripe = read_metadata(out["written"][0])
    assert stripe["style"] == "stripes" and stripe["repeat"] == "half-drop" and stripe["parents"] == [1]
    assert stripe["title"] == "Meadow · stripe" and stripe["dpi"] == 300  # the hero's own title, not its file name
    assert "sheet" in read_metadata(tmp_path / "sheet.png")
    from desktop.library import Library, collections

    with Library(lib) as library:
        assert sorted(collections.member_ids(library, "Meadow")) == [1, *out["library_ids"]]
    code = main(["coordinates", str(path), "--kind", "plaid", "--out", str(tmp_path / "bad")])
    assert code == 2 and "unknown coordinate plaid" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_a_hero_from_outside_the_library_joins_its_coordinates(capsys, tmp_path):
    """The hero file was never imported: stored with its coordinates, it is their parent and in their set."""
    lib = str(tmp_path / "lib")
    path = tmp_path / "meadow.png"
    save_png(path, hero(), {"repeat": "half-drop", "palette": INKS.as_dict(), "title": "Meadow"})
    assert main(["--library", lib, "coordinates", str(path), "--kind", "spot", "--out", str(tmp_path / "out"),
                 "--to-library", "--collection", "Meadow", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    from desktop.library import Library, collections

    with Library(lib) as library:
        assert library.get(out["parent"])["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert sorted(collections.member_ids(library, "Meadow")) == sorted([out["parent"], *out["library_ids"]])
    assert read_metadata(out["written"][0])["parents"] == [out["parent"]]


def test_tile_coordinates_makes_the_ticked_ones_as_the_heros_children(window, qtbot, monkeypatch):
    from PySide6.QtCore import Qt

    from desktop.library import collections
    from desktop.ui.colourways_dialog import CoordinatesDialog

    hero_id = one_pattern_shown(window, qtbot)
    shown = {}

    def answer(dialog):
        shown["icons"] = [not dialog.items.item(r).icon().isNull() for r in range(dialog.items.count())]
        for row in range(dialog.items.count()):
            if dialog.items.item(row).data(Qt.UserRole) not in ("stripe", "gingham"):
                dialog.items.item(row).setCheckState(Qt.Unchecked)
        assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).text() == "&Make 2 coordinates"
        dialog.collection.setText("Dots and friends")
        return CoordinatesDialog.Accepted

    monkeypatch.setattr(CoordinatesDialog, "exec", answer)
    window.tile_actions.coordinates()
    qtbot.waitUntil(lambda: window.lib.count() == 3 and window.library.count() == 3, timeout=30_000)
    assert shown["icons"] == [True] * len(KIND_NAMES)
    made = [window.lib.get(i["id"]) for i in window.lib.browse() if i["id"] != hero_id]
    assert sorted(m["provenance"]["style"] for m in made) == ["gingham", "stripes"]
    assert all(m["provenance"]["parents"] == [hero_id] for m in made)
    hero_palette = set(Palette.from_dict(window.lib.get(hero_id)["provenance"]["palette"]).colors)
    for m in made:
        assert set(Palette.from_dict(m["provenance"]["palette"]).colors) <= hero_palette
    assert sorted(collections.member_ids(window.lib, "Dots and friends")) == sorted([hero_id, *(m["id"] for m in made)])


def test_a_dark_ground_hero_gets_dark_ground_coordinates():
    navy, cream, rust = (27, 42, 73), (242, 232, 207), (194, 86, 46)
    dark = np.full((96, 96, 3), navy, np.uint8)
    dark[10:40, 10:40], dark[55:85, 50:80] = cream, rust
    for c in coordinates(dark, "basic", ("spot", "ditsy", "gingham")):
        colours, counts = np.unique(c.image.reshape(-1, 3), axis=0, return_counts=True)
        share = dict(zip(map(tuple, colours), counts / counts.sum()))
        if c.kind.name == "gingham":  # a quarter ground, a quarter check, half their crossing
            assert share[navy] > 0.2 and share[navy] < 0.3, share
        else:
            assert tuple(colours[counts.argmax()]) == navy, c.kind.name
        assert c.params["ground"] == "first"


@pytest.mark.parametrize("style", ["polka-dots", "gingham", "toss", "motif", "wallpaper"])
def test_a_styles_ground_can_be_its_darkest_or_first_colour(style):
    from desktop.engine import procedural

    cream, navy = (242, 232, 207), (27, 42, 73)
    palette = parse_palette("#1b2a49,#f2e8cf,#c2562e")  # navy first, cream the lightest, rust
    ground = {}
    for mode in ("lightest", "darkest", "first"):
        image = procedural.render(style, {"ground": mode, **({"colour": 2} if style == "gingham" else {})},
                                  "basic", 96, 96, palette, 3)
        pixels = np.round(image.reshape(-1, 3) * 255).astype(int)
        colours, counts = np.unique(pixels, axis=0, return_counts=True)
        if style == "gingham":  # the ground is the tone that is a pure palette colour besides the check
            ground[mode] = next(tuple(c) for c in colours[np.argsort(-counts)] if tuple(c) in (cream, navy))
        else:
            ground[mode] = tuple(colours[counts.argmax()])
    assert ground == {"lightest": cream, "darkest": navy, "first": navy}, ground
