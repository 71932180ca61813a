"""Colour-name tags: every pixel named by CIEDE2000 through a table made once per machine."""

import numpy as np

from desktop.library import tagging


def test_a_two_colour_tile_is_named_with_the_share_of_each():
    tile = np.zeros((128, 128, 3), np.uint8)
    tile[:96] = (20, 30, 80)  # navy, three quarters
    tile[96:] = (240, 230, 200)  # cream
    assert tagging.colour_tags(tile) == [("navy", 0.75), ("cream", 0.25)]
    assert tagging.colour_tags(tile.astype(np.float32) / 255) == [("navy", 0.75), ("cream", 0.25)]
    assert tagging.colour_tags(tile, min_share=0.3) == [("navy", 0.75)]


def test_the_table_names_each_colour_as_ciede2000_does():
    from desktop.engine.qa.colour import nearest_delta_e, srgb_to_lab

    lut = tagging._name_lut()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (500, 3))
    cells = pixels // (256 // tagging.LEVELS)
    centres = (cells + 0.5) / tagging.LEVELS  # what the table names: the centre of each pixel's cell
    _, table = tagging._named_lab()
    _, nearest = nearest_delta_e(srgb_to_lab(centres.astype(np.float32)), table)
    assert np.array_equal(lut[cells[:, 0], cells[:, 1], cells[:, 2]], nearest)


def test_the_table_is_kept_in_the_cache_and_made_again_when_unreadable(tmp_path, monkeypatch):
    made = []
    real = tagging._compute_name_lut

    def compute():
        made.append(1)
        return real()

    monkeypatch.setattr(tagging, "_compute_name_lut", compute)
    monkeypatch.setattr(tagging, "_LUT", [])
    first = tagging._name_lut(tmp_path)
    [cached] = list((tmp_path / "colour-names").glob("*.npy"))
    monkeypatch.setattr(tagging, "_LUT", [])
    assert np.array_equal(tagging._name_lut(tmp_path), first) and len(made) == 1  # read back, not made
    for damage in (b"not a numpy file", cached.read_bytes()[:200]):
        cached.write_bytes(damage)
        monkeypatch.setattr(tagging, "_LUT", [])
        assert np.array_equal(tagging._name_lut(tmp_path), first)
    assert len(made) == 3 and np.array_equal(np.load(cached), first)


def test_an_unwritable_cache_still_names_colours(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setattr(tagging, "_LUT", [])
    assert tagging._name_lut(blocked).shape == (tagging.LEVELS,) * 3



def test_the_library_warm_up_makes_the_table(tmp_path, monkeypatch):
    from desktop.config import resolve_paths
    from desktop.library import Library, search

    monkeypatch.setattr(tagging, "_LUT", [])
    with Library(tmp_path / "lib") as lib:
        search.warm_up(lib)
    assert len(tagging._LUT) == 1 and len(list((resolve_paths().cache_dir / "colour-names").glob("*.npy"))) == 1
