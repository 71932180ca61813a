"""The 17 wallpaper groups: each tile has its group's symmetries, and not more of them."""

import cv2
import numpy as np
import pytest

from desktop.engine import procedural
from desktop.engine.procedural.wallpaper import GROUPS
from desktop.palettes import parse_palette
from desktop.repeat import repeat_view
from seams import seam_ratios

PALETTE = parse_palette("#f4f1ea,#1b2a49,#c2562e")


def tile(group, size=(256, 256), cells=2):
    return procedural.render("wallpaper", {"group": group, "cells": cells, "size": 0.4}, "basic",
                             size[0], size[1], PALETTE, 0)


def mismatch(img: np.ndarray, transform) -> float:
    """How far `transform(plane)` is from the plane up to a translation (0 = a symmetry).

    The plane is a 3x3 repeat; the transform is applied to it, a central patch is cut,
    and the best match anywhere in the plane is found: 1 - the best correlation coefficient.
    """
    h, w = img.shape[:2]
    plane = repeat_view(img, "basic", 3, 3).astype(np.float32)
    moved = transform(plane).astype(np.float32)
    cy, cx = moved.shape[0] // 2, moved.shape[1] // 2
    patch = moved[cy - h // 4:cy + h // 4, cx - w // 4:cx + w // 4]
    scores = cv2.matchTemplate(plane, patch, cv2.TM_CCOEFF_NORMED)
    return 1.0 - float(scores.max())


def rotate(degrees):
    def apply(plane):
        h, w = plane.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return cv2.warpAffine(plane, m, (w, h), flags=cv2.INTER_LINEAR)
    return apply


def rot90(plane):
    return np.rot90(plane).copy()


def rot180(plane):
    return plane[::-1, ::-1].copy()


def flip_lr(plane):
    return plane[:, ::-1].copy()


def flip_ud(plane):
    return plane[::-1].copy()


EXACT = 0.02  # flips and quarter turns (copies land on different sub-pixel phases)
HEX = 0.03  # 120/60 degree turns, through bilinear resampling and a 0.1 % aspect error
BROKEN = 0.06  # what a missing symmetry scores, at the least


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_group_renders_seamlessly(group):
    img = tile(group)
    assert max(seam_ratios(img, "basic")) <= 1.02


@pytest.mark.parametrize("group,transform", [
    ("p2", rot180), ("pm", flip_lr), ("pmm", flip_lr), ("pmm", flip_ud), ("cmm", rot180),
    ("p4", rot90), ("p4m", rot90), ("p4m", flip_lr), ("p4g", rot90), ("cm", flip_lr), ("pg", flip_lr),
    ("pgg", rot180), ("pmg", rot180), ("pmg", flip_lr),
])
def test_square_and_rectangular_groups_have_their_symmetries(group, transform):
    assert mismatch(tile(group), transform) < EXACT


@pytest.mark.parametrize("group,transform", [
    ("p1", rot180), ("p1", flip_lr), ("p2", flip_lr), ("p4", flip_lr), ("pm", flip_ud), ("pg", rot180),
    ("p3", rot180),
])
def test_groups_do_not_have_symmetries_they_lack(group, transform):
    assert mismatch(tile(group), transform) > BROKEN


@pytest.mark.parametrize("group", ["p3", "p3m1", "p31m", "p6", "p6m"])
def test_hexagonal_groups_turn_by_120_degrees(group):
    img = tile(group, size=(256, 222), cells=2)  # cell aspect 1.734, close to sqrt(3)
    assert mismatch(img, rotate(120)) < HEX
    assert mismatch(tile("p1", size=(256, 222)), rotate(120)) > BROKEN


@pytest.mark.parametrize("group", ["p6", "p6m"])
def test_six_fold_groups_turn_by_60_degrees(group):
    assert mismatch(tile(group, size=(256, 222), cells=2), rotate(60)) < HEX
    assert mismatch(tile("p3", size=(256, 222), cells=2), rotate(60)) > BROKEN
