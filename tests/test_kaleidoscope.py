"""Kaleidoscopes: an image folded by mirrors into a seamless tile (desktop/engine/procedural/kaleidoscope.py)."""

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from conftest import one_pattern_shown, wait_exposed
from desktop.cli import main
from desktop.engine import procedural
from desktop.engine.images import read_metadata
from desktop.engine.procedural.kaleidoscope import GROUP_NAMES, GROUPS, fold, periods
from desktop.engine.qa import run_qa
from desktop.errors import UserError
from desktop.palettes import parse_palette
from desktop.repeat import REPEATS
from seams import seam_ratios

PALETTE = parse_palette("#1b2a49,#c2562e,#f2e8cf,#7fb77e")


def picture(tmp_path, size=(240, 180), name="photo.png", wavelength=7.0):
    """A small image with detail everywhere and no symmetry of its own (a gradient under two waves)."""
    y, x = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
    rgb = np.stack([x / size[0], y / size[1], 0.5 + 0.5 * np.sin(x / wavelength + y * y / 900.0)], -1)
    path = tmp_path / name
    Image.fromarray((rgb * 255).astype(np.uint8)).save(path)
    return path


def kaleidoscope(repeat="basic", size=(128, 128), seed=3, **params):
    return procedural.render("kaleidoscope", params, repeat, size[0], size[1], PALETTE, seed)


@pytest.mark.parametrize("group", GROUP_NAMES)
def test_the_fold_lands_inside_the_region_and_every_mirror_and_period_folds_alike(group):
    (pw, ph), _, mirrors, _ = GROUPS[group]
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-7, 7, 20_000), rng.uniform(-7, 7, 20_000)
    fx, fy = fold(x.copy(), y.copy(), group)
    for nx, ny, d in mirrors:
        assert (nx * fx + ny * fy - d).max() <= 1e-7
        side = nx * x + ny * y - d  # the point's image in this mirror folds to the same place
        mx, my = fold(x - 2 * side * nx, y - 2 * side * ny, group)
        assert np.allclose(mx, fx, atol=1e-6) and np.allclose(my, fy, atol=1e-6)
    for dx, dy in ((pw, 0), (0, ph), (-2 * pw, 3 * ph)):
        tx, ty = fold(x + dx, y + dy, group)
        assert np.allclose(tx, fx, atol=1e-6) and np.allclose(ty, fy, atol=1e-6)


@pytest.mark.parametrize("group", GROUP_NAMES)
def test_periods_keep_the_mirrors_angles_true(group):
    (pw, ph), _, _, _ = GROUPS[group]
    for width, height, cells in ((768, 768, 2), (768, 384, 2), (1200, 800, 3), (128, 96, 1)):
        nx, ny = periods(group, width, height, cells)
        assert nx >= cells and ny >= 1
        stretch = (width / nx) / (height / ny) * ph / pw
        if group == "pmm":
            assert nx == cells  # a rectangle takes any shape
        else:  # true within 6 %, or as true as any count up to four times as many across
            best = min(abs((width / n) / (height / max(1, round(height / (width / n * ph / pw)))) * ph / pw - 1)
                       for n in range(cells, 4 * cells + 1))
            assert abs(stretch - 1) <= max(0.065, best + 1e-9), (width, height, cells, nx, ny)


@pytest.mark.parametrize("repeat", REPEATS)
@pytest.mark.parametrize("group", GROUP_NAMES)
def test_any_image_folds_seamlessly_under_every_repeat(tmp_path, group, repeat):
    path = picture(tmp_path)
    img = kaleidoscope(repeat, (160, 128), image_path=str(path), group=group, colours="image")
    assert img.shape == (128, 160, 3) and img.dtype == np.float32
    rx, ry = seam_ratios(img, repeat)
    assert rx <= 1.02 and ry <= 1.02
    assert run_qa(img, repeat).check("seam").status == "pass"
    # negative control: the same image cropped, not folded, has a seam
    crop = np.asarray(Image.open(path), np.float32)[:128, :160] / 255
    assert max(seam_ratios(crop, "basic")) > 1.5


def test_real_photos_fold_into_tiles_that_pass_the_seam_check(shared_textures):
    photos = sorted((shared_textures / "photos").iterdir())
    assert len(photos) >= 5
    for k, photo in enumerate(photos):
        group = GROUP_NAMES[k % len(GROUP_NAMES)]
        img = kaleidoscope("half-drop", (256, 256), seed=k, image_path=str(photo), group=group)
        assert run_qa(img, "half-drop").check("seam").status == "pass", (photo.name, group)
        assert max(seam_ratios(img, "half-drop")) <= 1.02


def test_the_mirrors_are_exact(tmp_path):
    path = str(picture(tmp_path))

    def tile(group):
        return kaleidoscope("basic", (96, 96), image_path=path, group=group, cells=1, colours="image", jitter=0.0,
                            rotation=17.0)

    one_level = 1.5 / 255
    pmm = tile("pmm")  # mirrors at x = 0 and y = 0 (the tile's edges) map pixel k to pixel -1-k
    assert np.abs(pmm - pmm[:, ::-1]).max() <= one_level and np.abs(pmm - pmm[::-1]).max() <= one_level
    p4m = tile("p4m")  # and the diagonal
    assert np.abs(p4m - p4m.transpose(1, 0, 2)).max() <= one_level
    p3m1 = tile("p3m1")  # a triangle's edge along y = 0; its other mirrors are not upright
    assert np.abs(p3m1 - p3m1[::-1]).max() <= one_level
    assert np.abs(p3m1 - p3m1[:, ::-1]).mean() > 0.02
    p6m = tile("p6m")  # the 30-60-90 triangle: upright mirrors too
    assert np.abs(p6m - p6m[:, ::-1]).max() <= one_level and np.abs(p6m - p6m[::-1]).max() <= one_level
    # the image is really looked at: not the same picture for every group, nor a flat one
    assert pmm.std() > 0.05 and np.abs(pmm - p4m).mean() > 0.02


def test_the_seed_moves_the_window_by_jitter_alone(tmp_path):
    path = str(picture(tmp_path))
    same = [kaleidoscope(seed=s, image_path=path, jitter=0.0, colours="image") for s in (1, 2)]
    assert np.array_equal(*same)
    moved = [kaleidoscope(seed=s, image_path=path, colours="image") for s in (1, 2)]
    assert np.abs(moved[0] - moved[1]).mean() > 0.02
    assert np.array_equal(moved[0], kaleidoscope(seed=1, image_path=path, colours="image"))
    # where the window sits is the image's own place: x and y move it too
    assert np.abs(kaleidoscope(image_path=path, jitter=0.0, x=0.3, colours="image") - same[0]).mean() > 0.02


def test_colours_the_image_the_palette_or_the_palette_alone(tmp_path):
    path = str(picture(tmp_path))
    own = kaleidoscope(image_path=path, colours="image")
    source = np.asarray(Image.open(path), np.float32) / 255
    assert np.abs(own.reshape(-1, 3).mean(0) - source.reshape(-1, 3).mean(0)).max() < 0.2
    broad = str(picture(tmp_path, name="broad.png", wavelength=40.0))
    flat = kaleidoscope(size=(256, 256), image_path=broad, colours="flat")  # the default
    assert np.array_equal(flat, kaleidoscope(size=(256, 256), image_path=broad))
    # flat inks, antialiased: pixels are one ink, or along an edge a mix of the two inks it parts
    inks = np.asarray(PALETTE.colors, np.float64)
    pixels = flat.reshape(-1, 3).astype(np.float64) * 255
    exact = np.abs(pixels[:, None, :] - inks[None]).max(-1).min(-1) <= 0.5
    nearest_mix = np.full(len(pixels), np.inf)
    for a in range(len(inks)):
        for b in range(a + 1, len(inks)):
            span = inks[b] - inks[a]
            t = np.clip((pixels - inks[a]) @ span / (span @ span), 0, 1)
            gap = np.abs(pixels - (inks[a] + t[:, None] * span)).max(-1)
            nearest_mix = np.minimum(nearest_mix, gap)
    assert 0.4 < exact.mean() < 1.0 and (nearest_mix <= 2.0).mean() > 0.97
    # on the brief: flat passes the palette check; shading kept strays a little; the image's own, far
    delta = {mode: run_qa(kaleidoscope(size=(256, 256), image_path=broad, colours=mode), palette=PALETTE)
             .check("palette") for mode in ("flat", "palette", "image")}
    assert delta["flat"].status == "pass" and delta["image"].status == "fail"
    assert delta["flat"].score < delta["palette"].score < delta["image"].score / 2


def test_without_an_image_it_folds_a_marble_in_the_palette():
    img = kaleidoscope()
    assert img.std() > 0.05
    assert np.array_equal(img, kaleidoscope()) and not np.array_equal(img, kaleidoscope(seed=4))


def test_a_missing_damaged_or_tiny_image_is_a_clear_error(tmp_path):
    from desktop.engine.generate import GenerateRequest

    def validate(path):
        GenerateRequest(style="kaleidoscope", params={"image_path": str(path)}, width=64, height=64).validated()

    with pytest.raises(UserError, match="no such file"):
        validate(tmp_path / "gone.jpg")
    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(UserError, match="not a readable image"):
        validate(damaged)
    # a real header over a cut-off body: the quick check at Generate passes, the render says why
    photo = tmp_path / "cut.jpg"
    Image.open(picture(tmp_path)).convert("RGB").save(photo, quality=90)
    photo.write_bytes(photo.read_bytes()[:len(photo.read_bytes()) // 2])
    validate(photo)
    with pytest.raises(UserError, match="not a readable image"):
        kaleidoscope(image_path=str(photo))
    with pytest.raises(UserError, match="too small"):
        kaleidoscope(image_path=str(picture(tmp_path, (5, 5), "tiny.png")))
    with pytest.raises(UserError, match="one of pmm, p4m, p3m1, p6m"):
        kaleidoscope(group="p2")


def test_the_cli_folds_a_photo_and_its_png_names_the_image_by_hash(capsys, tmp_path, monkeypatch):
    path = picture(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(["generate", "--kaleidoscope", path.name, "--group", "p4m", "--size", "128", "--count", "2",
                 "--palette", "terracotta", "--out", "tiles", "--json"])
    written = json.loads(capsys.readouterr().out)["written"]
    assert code == 0 and len(written) == 2
    meta = read_metadata(tmp_path / written[0])
    assert meta["style"] == "kaleidoscope" and meta["params"]["group"] == "p4m"
    assert meta["params"]["image_path"] == str(path)  # a relative path is made absolute
    assert meta["inputs"]["image_path"] == {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    # the generic option form works too, and a motif's file is named the same way
    code = main(["generate", "--style", "kaleidoscope", "--image-path", path.name, "--size", "64",
                 "--out", "more", "--json"])
    assert code == 0
    assert read_metadata(tmp_path / json.loads(capsys.readouterr().out)["written"][0])["inputs"]["image_path"]["path"] \
        == str(path)


def test_the_brief_folds_a_chosen_photo_into_the_library(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QLineEdit, QToolButton

    path = picture(tmp_path)
    brief = window.brief
    brief.set_style("kaleidoscope")
    brief.width_spin.setValue(96)
    brief.height_spin.setValue(96)
    holder = brief._option_widgets["image_path"]
    edit = holder.findChild(QLineEdit)
    assert edit.placeholderText() == "(a marble in the palette)"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    holder.findChild(QToolButton).click()  # the … button chooses the file
    assert brief.options()["image_path"] == str(path)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == 1, timeout=30_000)
    item = window.lib.browse()[0]
    assert item["metadata"]["style"] == "kaleidoscope"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert item["metadata"]["inputs"]["image_path"]["sha256"] == digest
    # the Inspector names the image the tile was folded from, with its hash
    qtbot.waitUntil(lambda: window.library.count() == 1, timeout=30_000)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: f"{path}, sha256 {digest[:12]}" in window.inspector.view.toPlainText(), timeout=30_000)
    # an image dropped on the field is taken as the option (not imported into the library)
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    dropped = picture(tmp_path, name="dropped.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    edit.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    assert brief.options()["image_path"] == str(dropped) and window.lib.count() == 1
    # the motif options keep their own placeholder through the same mechanism
    brief.set_style("toss")
    assert brief._option_widgets["motif_path"].findChild(QLineEdit).placeholderText() == "(the built-in motif)"


def test_tile_kaleidoscope_folds_the_pattern_shown_and_names_it_as_parent(window, qtbot):
    brief = window.brief
    parent = one_pattern_shown(window, qtbot)
    source = window.lib.get(parent)["file"]
    brief.count.setValue(2)
    window.tile_actions.kaleidoscope()
    qtbot.waitUntil(lambda: window.lib.count() == 3, timeout=30_000)
    made = [window.lib.get(item["id"]) for item in window.lib.browse() if item["id"] != parent]
    assert {m["provenance"]["style"] for m in made} == {"kaleidoscope"}
    assert all(m["provenance"]["parents"] == [parent] for m in made)
    assert all(m["provenance"]["inputs"]["image_path"]["path"] == source for m in made)
    assert brief.current_style().name == "kaleidoscope"
    # another image typed in: no longer that pattern's child
    brief._option_widgets["image_path"].value_widget.setText("")
    assert brief.build_request().parent_id is None


@pytest.mark.parametrize("group", GROUP_NAMES)
def test_the_outline_is_the_window_the_tile_is_folded_from(group, tmp_path):
    """An image white inside the outline and black outside folds into a white tile (but for the
    lookup's blend along the creases); the same outline drawn 60 px aside leaves the tile dark."""
    import cv2

    from desktop.engine.procedural.kaleidoscope import outline

    params = {"group": group, "zoom": 0.25, "x": 0.45, "y": 0.55, "rotation": 23.0, "jitter": 0.0,
              "colours": "image", "cells": 1}
    brightness = []
    for shift in (0, 60):
        image = np.zeros((300, 400, 3), np.uint8)
        corners = outline(params, 400, 300) + np.array([shift - 0.5, -0.5])  # cv2: pixel k's centre at k
        cv2.fillPoly(image, [np.round(corners * 16).astype(np.int32)], (255, 255, 255), cv2.LINE_8, 4)
        path = tmp_path / f"outline-{shift}.png"
        Image.fromarray(image).save(path)
        brightness.append(kaleidoscope(size=(256, 256), image_path=str(path), **params).mean())
    assert brightness[0] > 0.95 and brightness[1] < 0.25, brightness


def test_the_window_dialog_moves_sizes_and_turns_the_window_and_shows_its_tile(qtbot, tmp_path):
    from PySide6.QtCore import QPoint, Qt

    from desktop.ui.kaleidoscope_dialog import KaleidoscopeWindowDialog

    path = picture(tmp_path)
    params = procedural.get_style("kaleidoscope").resolve({"image_path": str(path), "jitter": 0.3})
    dialog = KaleidoscopeWindowDialog(np.asarray(Image.open(path)), str(path), params, "half-drop", PALETTE,
                                      (300, 200))
    qtbot.addWidget(dialog)
    dialog.show()
    wait_exposed(qtbot, dialog)
    assert dialog.preview.has_tile() and dialog.tile_size == (256, 170)
    picker = dialog.picker
    before = picker.outline().copy()
    qtbot.keyClick(picker, Qt.Key_Right)
    assert dialog.params["x"] == pytest.approx(0.51)
    qtbot.keyClick(picker, Qt.Key_Plus)
    assert dialog.params["zoom"] == pytest.approx(0.35 / 1.1)
    qtbot.keyClick(picker, Qt.Key_Right, Qt.ShiftModifier)
    assert dialog.params["rotation"] == pytest.approx(5.0)
    # a drag moves the window with the mouse: the outline follows it on the widget
    centre = QPoint(*np.round(picker.outline().mean(0)).astype(int))
    qtbot.mousePress(picker, Qt.LeftButton, pos=centre)
    qtbot.mouseMove(picker, centre + QPoint(30, 10))
    qtbot.mouseRelease(picker, Qt.LeftButton, pos=centre + QPoint(30, 10))
    moved = picker.outline().mean(0) - before.mean(0)
    assert moved[0] > 25 and moved[1] > 5
    shown = dialog.preview._images[(False, False)]
    qtbot.waitUntil(lambda: dialog.preview._images.get((False, False)) is not shown, timeout=5_000)
    chosen = dialog.chosen()
    assert chosen["jitter"] == 0.0 and chosen["rotation"] == 5.0 and chosen["x"] > 0.51
    dialog.keep_jitter.setChecked(True)
    assert "jitter" not in dialog.chosen()


def test_the_brief_takes_the_window_chosen(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialog

    from desktop.ui import kaleidoscope_dialog

    brief = window.brief
    brief.set_style("kaleidoscope")
    brief.choose_window()  # no image yet: it says so, and opens nothing
    assert "choose the image to fold first" in brief.error.text()
    brief.set_option("image_path", str(picture(tmp_path)))

    def answer(dialog):
        dialog.picker._move(-0.2, 0.1)
        dialog.picker._turn(-2)
        return QDialog.Accepted

    monkeypatch.setattr(kaleidoscope_dialog.KaleidoscopeWindowDialog, "exec", answer)
    brief.choose_window()
    options = brief.options()
    assert options["x"] == pytest.approx(0.3) and options["y"] == pytest.approx(0.6)
    assert options["rotation"] == -10.0 and options["jitter"] == 0.0 and brief.error.text() == ""


@pytest.mark.parametrize("group", ["p3m1", "p6m"])
@pytest.mark.parametrize("repeat", ["half-drop", "half-brick"])
def test_a_hexagonal_kaleidoscope_is_truly_dropped(tmp_path, group, repeat):
    """Its lattice takes the tile's offset: the tile is not two stacked halves (a half-drop drawn on
    its content rectangle would be), and it is seamless through the repeat."""
    from desktop.engine.procedural.kaleidoscope import offset_axis
    from desktop.repeat import parse_repeat

    assert offset_axis(group, parse_repeat(repeat)) == ("x" if repeat == "half-drop" else "y")
    img = kaleidoscope(repeat, (192, 160), image_path=str(picture(tmp_path)), group=group, colours="image")
    halves = (img[:80], img[80:]) if repeat == "half-drop" else (img[:, :96], img[:, 96:])
    assert np.abs(halves[0] - halves[1]).mean() > 0.02
    rx, ry = seam_ratios(img, repeat)
    assert rx <= 1.02 and ry <= 1.02
    assert run_qa(img, repeat).check("seam").status == "pass"
    assert offset_axis("pmm", parse_repeat(repeat)) == ""  # a rectangle's lattice has no centre to drop by


def test_a_kaleidoscope_in_the_images_own_colours_is_not_judged_on_the_palette(tmp_path, capsys):
    """colours=image cannot meet the brief's palette, by design: generate and `tessera qa` skip that check
    and say why; in the palette's colours the check runs as before."""
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(3)
    Image.fromarray((rng.random((96, 128, 3)) * [255, 120, 40]).astype(np.uint8)).save(photo)  # oranges
    for colours, status in (("image", "skip"), ("flat", "pass")):
        out = tmp_path / colours
        assert main(["generate", "--style", "kaleidoscope", "--kaleidoscope", str(photo), "--colours", colours,
                     "--size", "128", "--out", str(out), "--json"]) == 0
        capsys.readouterr()
        (path,) = out.glob("*.png")
        checks = {c["name"]: c for c in read_metadata(path)["qa"]["checks"]}
        assert checks["palette"]["status"] == status
        assert main(["qa", str(path), "--json"]) in (0, 1)
        (report,) = json.loads(capsys.readouterr().out)["reports"]
        palette = next(c for c in report["checks"] if c["name"] == "palette")
        assert palette["status"] == status
        if status == "skip":
            assert palette["explanation"] == ("Not compared: colours=image keeps the image's own colours, not the "
                                              "brief's palette.")
