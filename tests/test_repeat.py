import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop import repeat as R
from desktop.errors import UserError

REPEATS = list(R.REPEATS)


def tile(h=6, w=8, c=3, seed=0):
    return np.random.default_rng(seed).random((h, w, c)).astype(np.float32)


@pytest.mark.parametrize("kind", REPEATS)
def test_tile_itself_is_identity(kind):
    t = tile()
    assert np.array_equal(R.window(t, kind, 0, 0, 8, 6), t)


def test_half_drop_right_neighbour_is_moved_down_by_half():
    t = tile(6, 8)
    # the pixel just right of the tile, at row y, is the tile's column 0 at row y - H/2
    for y in range(6):
        tx, ty = R.plane_to_tile("half-drop", 8, 6, 8, y)
        assert (int(tx), int(ty)) == (0, (y - 3) % 6)
    # straight down is a plain wrap
    assert tuple(map(int, R.plane_to_tile("half-drop", 8, 6, 2, 6))) == (2, 0)
    view = R.repeat_view(t, "half-drop", 2, 1)
    assert np.array_equal(view[:, 8:], np.roll(t, 3, axis=0))


def test_half_brick_lower_row_is_moved_right_by_half():
    t = tile(6, 8)
    view = R.repeat_view(t, "half-brick", 1, 2)
    assert np.array_equal(view[6:], np.roll(t, 4, axis=1))


def test_mirror_alternates_reflections():
    t = tile(6, 8)
    view = R.repeat_view(t, "mirror", 2, 2)
    assert np.array_equal(view[:6, 8:], t[:, ::-1])
    assert np.array_equal(view[6:, :8], t[::-1, :])
    assert np.array_equal(view[6:, 8:], t[::-1, ::-1])


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(REPEATS), x=st.integers(-50, 50), y=st.integers(-50, 50),
       p=st.integers(0, 9))
def test_pad_matches_direct_plane_lookup(kind, x, y, p):
    t = tile(6, 8)
    padded = R.pad(t, p, kind)
    assert padded.shape == (6 + 2 * p, 8 + 2 * p, 3)
    for yy in (0, 2 * p + 5):
        for xx in (0, 2 * p + 7):
            tx, ty = R.plane_to_tile(kind, 8, 6, xx - p, yy - p)
            assert np.array_equal(padded[yy, xx], t[int(ty), int(tx)])
    # and any plane point maps into the tile
    tx, ty = R.plane_to_tile(kind, 8, 6, x, y)
    assert 0 <= tx < 8 and 0 <= ty < 6


@pytest.mark.parametrize("kind", REPEATS)
def test_lattice_translations_are_symmetries_of_the_plane(kind):
    t = tile(6, 8)
    if kind == "mirror":
        vectors = [(16, 0), (0, 12)]
    else:
        (ax, ay), (bx, by) = R.lattice(kind, 8, 6)
        vectors = [(int(ax), int(ay)), (int(bx), int(by))]
    big = R.window(t, kind, -20, -20, 60, 50)
    for dx, dy in vectors:
        shifted = R.window(t, kind, -20 + dx, -20 + dy, 60, 50)
        assert np.array_equal(big, shifted)


@pytest.mark.parametrize("kind", REPEATS)
def test_torch_pad_matches_numpy(kind):
    t = tile(6, 8)
    chw = torch.from_numpy(np.ascontiguousarray(t.transpose(2, 0, 1)))[None]  # NCHW
    padded = R.pad(chw, (2, 3, 1, 4), kind)
    expected = R.pad(t, (2, 3, 1, 4), kind).transpose(2, 0, 1)
    assert padded.shape == (1, 3, 6 + 5, 8 + 5)
    assert np.allclose(padded[0].numpy(), expected)


@pytest.mark.parametrize("kind,shape", [("basic", (6, 8)), ("half-drop", (6, 16)), ("half-brick", (12, 8)),
                                         ("mirror", (12, 16))])
def test_to_basic_gives_a_plain_grid_tile(kind, shape):
    t = tile(6, 8)
    basic = R.to_basic(t, kind)
    assert basic.shape[:2] == shape
    # the basic tile, repeated as a plain grid, reproduces the original repeat's plane
    plane = R.window(t, kind, 0, 0, 3 * shape[1], 3 * shape[0])
    assert np.array_equal(R.repeat_view(basic, "basic", 3, 3), plane)


@pytest.mark.parametrize("x0,y0", [(-13, -7), (29, 17), (0, 0), (-3, 40)])
@pytest.mark.parametrize("kind", REPEATS)
def test_placements_paint_the_same_plane_as_the_lookup(kind, x0, y0):
    t = tile(6, 8)
    w, h = 40, 30
    canvas = np.full((h, w, 3), -1.0, np.float32)
    spots = R.placements(kind, 8, 6, x0, y0, x0 + w, y0 + h)
    for spot in spots:  # each one is needed: it covers part of the rectangle, not only touches it
        assert spot.x < x0 + w and spot.x + 8 > x0 and spot.y < y0 + h and spot.y + 6 > y0, spot
    assert len({(s.x, s.y) for s in spots}) == len(spots)
    for spot in spots:
        img = t[:, ::-1] if spot.flip_x else t
        img = img[::-1] if spot.flip_y else img
        for yy in range(6):
            for xx in range(8):
                cx, cy = spot.x + xx - x0, spot.y + yy - y0
                if 0 <= cx < w and 0 <= cy < h:
                    canvas[cy, cx] = img[yy, xx]
    assert np.array_equal(canvas, R.window(t, kind, x0, y0, w, h))


def test_unsupported_sizes_are_explained():
    with pytest.raises(UserError, match=r"height must be even: 63 is odd \(try 62 or 64\)"):
        R.check_size("half-drop", 64, 63)
    with pytest.raises(UserError, match=r"width must be even: 63 is odd \(try 62 or 64\)"):
        R.check_size("half-brick", 63, 64)
    with pytest.raises(UserError, match="8192"):
        R.check_size("basic", 9000, 64)
    R.check_size("basic", 8192, 8192)  # the limit itself is allowed, one more is not
    for size in ((8193, 64), (64, 8193)):
        with pytest.raises(UserError, match=r"8193x64 is over|64x8193 is over"):
            R.check_size("basic", *size)
    R.check_size("basic", 2, 2)
    for size in ((1, 5), (5, 1)):
        with pytest.raises(UserError, match=rf"at least 2x2 pixels, not {size[0]}x{size[1]}"):
            R.check_size("basic", *size)
    with pytest.raises(UserError, match="unknown repeat"):
        R.parse_repeat("diagonal")
    R.check_size("half-drop", 63, 64)  # odd width is fine for half-drop
    assert R.parse_repeat("half_drop") is R.Repeat.HALF_DROP


@pytest.mark.parametrize("name,repeat", [
    ("half_drop", "half-drop"), ("Half Drop", "half-drop"), ("halfdrop", "half-drop"), ("drop", "half-drop"),
    ("HalfBrick", "half-brick"), ("half brick", "half-brick"), ("brick", "half-brick"), ("  MIRROR ", "mirror"),
    ("full-drop", "basic"), ("full drop", "basic"), ("grid", "basic"), ("block", "basic"), (R.Repeat.MIRROR, "mirror")])
def test_the_names_people_use_for_repeats(name, repeat):
    assert R.parse_repeat(name) is R.Repeat(repeat)


def test_lookups_are_whole_pixels_whatever_the_coordinates_were_given_as():
    tx, ty = R.plane_to_tile("half-drop", 8, 6, np.array([9.0, -1.0]), np.array([2.0, 0.0]))
    assert tx.dtype.kind == ty.dtype.kind == "i" and tx.tolist() == [1, 7] and ty.tolist() == [5, 3]


def test_the_geometry_works_on_any_two_adjacent_axes():
    """A channels-first array (C, H, W) with axes=(1, 2), and a torch tensor's default last two axes."""
    t = tile(6, 8)  # (H, W, C)
    first = np.ascontiguousarray(np.moveaxis(t, -1, 0))
    for kind in REPEATS:
        assert np.array_equal(R.pad(first, (1, 2, 3, 4), kind, axes=(1, 2)),
                              np.moveaxis(R.pad(t, (1, 2, 3, 4), kind), -1, 0))
        assert np.array_equal(R.repeat_view(first, kind, 2, 3, axes=(1, 2)),
                              np.moveaxis(R.repeat_view(t, kind, 2, 3), -1, 0))
        assert np.array_equal(R.to_basic(first, kind, axes=(1, 2)), np.moveaxis(R.to_basic(t, kind), -1, 0))
        chw = torch.from_numpy(first)  # torch: (C, H, W), the last two axes by default
        assert torch.equal(R.pad(chw, 2, kind), torch.from_numpy(np.ascontiguousarray(np.moveaxis(R.pad(t, 2, kind), -1, 0))))
    with pytest.raises(ValueError, match=r"^the height axis must come just before the width axis$"):
        R.window(t, "basic", 0, 0, 2, 2, axes=(0, 2))


def test_the_lattice_translations_reach_every_way():
    for kind in REPEATS:
        moves = {tuple(v) for v in R.translates(kind, 8, 6, reach=2)}
        assert len(moves) == 25 and all((-x, -y) in moves for x, y in moves)
    assert {tuple(v) for v in R.translates("half-brick", 8, 6, reach=1)} == {
        (m * 8 + n * 4.0, n * 6.0) for m in (-1, 0, 1) for n in (-1, 0, 1)}


@pytest.mark.parametrize("kind", ["basic", "half-drop", "half-brick"])
def test_wrap_point_lands_in_the_tile_by_a_lattice_vector(kind):
    rng = np.random.default_rng(1)
    (ax, ay), (bx, by) = R.lattice(kind, 8, 6)
    for _ in range(50):
        x, y = rng.uniform(-40, 40, 2)
        wx, wy = R.wrap_point(kind, 8, 6, x, y)
        assert 0 <= wx < 8 and 0 <= wy < 6
        m, n = np.linalg.solve([[ax, bx], [ay, by]], [x - wx, y - wy])
        assert abs(m - round(m)) < 1e-9 and abs(n - round(n)) < 1e-9


def test_offset_repeats_ask_whole_pixels_at_the_coarsest_level():
    """SD 1.5 sees a tile at 1/8 (its VAE) and halves it 3 more times: a half-drop's H/2 is a whole
    pixel at 1/64 only when H is a multiple of 128 px. Basic and mirror take any multiple of 8."""
    from desktop.repeat import RepeatError, check_steps, size_steps, snap_to_step

    assert size_steps("half-drop", 3, 8) == (8, 128) and size_steps("half-brick", 3, 8) == (128, 8)
    assert size_steps("basic", 3, 8) == size_steps("mirror", 3, 8) == (8, 8)
    assert size_steps("half-drop", 2, 8) == (8, 64)  # SDXL's UNet halves twice
    assert size_steps("half-drop", 1, 2, least=8) == (8, 8)  # a tiny test model's offset is finer than 8
    for side in (512, 640, 768, 896, 1024):
        check_steps("half-drop", 520, side, 3, 8)
        check_steps("half-brick", side, 520, 3, 8)
    for side in (576, 704, 832, 960):  # multiples of 64 but not of 128: were silently wrong
        check_steps("basic", side, side, 3, 8)
        check_steps("mirror", side, side, 3, 8)
        with pytest.raises(RepeatError, match=rf"height must be a multiple of 128 px .*\(try {side - 64} or {side + 64}\)"):
            check_steps("half-drop", 512, side, 3, 8, "SD 1.5")
        with pytest.raises(RepeatError, match="width must be a multiple of 128 px"):
            check_steps("half-brick", side, 512, 3, 8)
    with pytest.raises(RepeatError, match=r"multiple of 8 px for SD 1\.5: 516 is not"):
        check_steps("basic", 516, 512, 3, 8, "SD 1.5")
    assert [snap_to_step(v, 128) for v in (576, 575, 700, 20)] == [640, 512, 640, 128]


def test_the_size_rules_words_and_defaults():
    """The sentence names the axis the repeat moves, the level and the half-pixel; the defaults are the
    plainest network (no scale, no halving, nothing asked of every side)."""
    from desktop.repeat import RepeatError, check_steps, size_steps, snap_to_step

    with pytest.raises(RepeatError) as drop:
        check_steps("half-drop", 512, 576, 3, 8)
    assert str(drop.value) == ("half-drop moves each column by half the tile's height, and this model works the "
                               "tile down to 1/64 of its size, where half of 576 px is 4.5 pixels: the height must be "
                               "a multiple of 128 px for this repeat (try 512 or 640)")
    with pytest.raises(RepeatError) as brick:
        check_steps("half-brick", 96, 512, 3, 8, "SD 1.5")
    assert str(brick.value).startswith("half-brick moves each row by half the tile's width, and SD 1.5 works the tile "
                                       "down to 1/64 of its size, where half of 96 px is 0.75 pixels")
    assert str(brick.value).endswith("(try 128)")  # no size below the first step to offer
    assert size_steps("half-drop", 0) == (1, 2) and size_steps("basic", 0) == (1, 1)
    check_steps("half-drop", 3, 4, 0)  # whole pixels and an even height: all a plain network asks
    with pytest.raises(RepeatError, match="multiple of 8 px for this model: 12 is not"):
        check_steps("basic", 12, 16, 1, 2, least=8)
    assert isinstance(snap_to_step(576, 128), int)
    with pytest.raises(RepeatError, match=r"choose one of basic, half-drop, half-brick, mirror$"):
        R.parse_repeat("zigzag")


def test_defaults_of_the_views_and_the_lattice():
    t = tile(6, 8)
    for kind in REPEATS:
        assert R.repeat_view(t, kind).shape == (18, 24, 3)  # 3 x 3 tiles
        assert len(R.translates(kind, 8, 6)) == 25  # reach 2 each way
    param = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(np.moveaxis(t, -1, 0))).float(),
                               requires_grad=False)  # a torch type from a submodule (torch.nn.parameter)
    assert tuple(R.pad(param, 1, "basic").shape) == (3, 8, 10)


@pytest.mark.parametrize("repeat", list(R.Repeat))
def test_a_window_gathers_the_same_pixels_from_any_memory_layout(repeat):
    """A contiguous array is gathered through one flat index (the fast path); a view of another array
    through the 2-D index maps: the same pixels, for HxW, HxWxC and CxHxW (axes -2, -1) arrays."""
    rng = np.random.default_rng(3)
    base = rng.random((2 * 24, 2 * 16, 3)).astype(np.float32)
    view = base[::2, ::2]  # not contiguous
    tile = np.ascontiguousarray(view)
    assert not view.flags.c_contiguous and tile.flags.c_contiguous
    for x0, y0, w, h in ((-5, -7, 40, 30), (16, 0, 3, 24), (0, 24, 16, 2), (-40, 31, 9, 50)):
        assert np.array_equal(R.window(view, repeat, x0, y0, w, h), R.window(tile, repeat, x0, y0, w, h))
        assert np.array_equal(R.window(view[..., 0], repeat, x0, y0, w, h), R.window(tile[..., 0], repeat, x0, y0, w, h))
        chw = np.ascontiguousarray(tile.transpose(2, 0, 1))
        assert np.array_equal(R.window(chw, repeat, x0, y0, w, h, axes=(-2, -1)).transpose(1, 2, 0),
                              R.window(tile, repeat, x0, y0, w, h))
