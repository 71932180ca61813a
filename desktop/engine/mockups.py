"""Product mockups: a tile repeating at its printed size on a room's walls, a width of fabric
hanging from a rail, a cushion, and a measured swatch with rulers.

Every mockup pixel is a point on the product's surface, in inches; the repeat geometry says which
tile pixel lies there (the repeat's basic period, sampled bilinearly), so a half-drop hangs as one,
a mirror repeat mirrors, and one tile spans exactly its print width. The tile is first reduced
by a box filter to about one texel per rendered pixel where the surface is nearest (an exact
partition of the tile, so the reduction adds no seam), the scene is rendered at twice the size
and reduced again, so fine patterns do not shimmer into moiré. The scenes are drawn here, from
numbers (no photographs, nothing to download); the sofa and the rulers are there for scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from desktop.errors import UserError

CM_PER_INCH = 2.54
SUPER = 2  # rendered at twice the size, then reduced


@dataclass(frozen=True)
class Product:
    name: str
    label: str
    size: tuple[int, int]  # the mockup's width and height, px


PRODUCTS: dict[str, Product] = {p.name: p for p in (
    Product("wall", "Wallpaper: a room, 8 ft to the ceiling, with a sofa for scale", (1200, 800)),
    Product("fabric", "Fabric: a 54 in width hanging a yard from a rail", (960, 900)),
    Product("cushion", "Cushion: 18 in square", (900, 900)),
    Product("swatch", "Swatch: a yard wide, with rulers and one tile outlined", (1200, 980)),
)}


@dataclass
class Mockup:
    image: np.ndarray  # HxWx3 uint8
    product: str
    repeat: str
    tile_in: tuple[float, float]  # one tile's printed width and height
    surface_in: tuple[float, float]  # the product's printed surface shown (the back wall, the cloth ...)

    @property
    def repeats(self) -> tuple[float, float]:
        """How many tiles across and down the surface shown."""
        return (self.surface_in[0] / self.tile_in[0], self.surface_in[1] / self.tile_in[1])

    def as_dict(self) -> dict[str, Any]:
        return {"product": self.product, "repeat": self.repeat,
                "tile_in": [round(v, 3) for v in self.tile_in],
                "surface_in": [round(v, 2) for v in self.surface_in],
                "repeats": [round(v, 2) for v in self.repeats],
                "size": [int(self.image.shape[1]), int(self.image.shape[0])]}

    def metadata(self, source: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the mockup's PNG says: that it is a mockup (an importer leaves it out of a
        library), of what, at what size; and the source tile's title, sha256 and id if known."""
        about = self.as_dict()
        for key in ("title", "sha256", "library_id", "file"):
            if source and source.get(key):
                about[f"source_{key}"] = source[key]
        return {"mockup": about}


def parse_tile_size(text: str, width: int, height: int) -> tuple[float, float]:
    """'10in', '25cm' (the width; the height follows the tile's shape) or '10x5in' -> inches."""
    from desktop.engine.qa.printing import parse_print_size

    size = parse_print_size(text)
    if size is None:
        raise UserError("give the tile's printed size, like 10in, 25cm or 10x5in")
    has_height = "x" in text.lower().replace("×", "x")
    return size if has_height else (size[0], size[0] * height / width)


def tile_inches(width: int, height: int, dpi: float | None = None, size: str | None = None) -> tuple[float, float]:
    """One tile's printed size: from `size` when given, else its pixels at `dpi` (150 when unknown)."""
    if size:
        inches = parse_tile_size(size, width, height)
    else:
        dpi = float(dpi or 150)
        if not 10 <= dpi <= 2400:
            raise UserError(f"a DPI runs from 10 to 2400, not {dpi:g}")
        inches = (width / dpi, height / dpi)
    if min(inches) < 0.1 or max(inches) > 1200:
        raise UserError(f"a tile {inches[0]:.3g} × {inches[1]:.3g} in is too small or too large to show "
                        f"(0.1 in to 100 ft)")
    return inches


# -- sampling the surface through the repeat ----------------------------------------------------

def _texture(tile: np.ndarray, repeat: str, tile_in: tuple[float, float], ppi_near: float):
    """The tile box-filtered down to about `ppi_near` texels per inch (never up), with the texels
    per inch it ends up with along x and y. Half-drop keeps an even height and half-brick an even
    width, so the half offset stays exactly half a tile."""
    import cv2

    h, w = tile.shape[:2]
    factor = max(1.0, min(w / tile_in[0], h / tile_in[1]) / max(ppi_near, 1e-6))
    if factor > 1.0:
        nw, nh = max(2, round(w / factor)), max(2, round(h / factor))
        if repeat == "half-brick":
            nw += nw % 2
        if repeat == "half-drop":
            nh += nh % 2
        if (nw, nh) != (w, h):
            tile = cv2.resize(tile, (nw, nh), interpolation=cv2.INTER_AREA)
    texture = np.ascontiguousarray(tile[..., :3], dtype=np.float32)
    return texture, texture.shape[1] / tile_in[0], texture.shape[0] / tile_in[1]


def sample(tile: np.ndarray, repeat: str, tile_in: tuple[float, float], u: np.ndarray, v: np.ndarray,
           ppi_near: float) -> np.ndarray:
    """The repeat's colour (float32 RGB 0..255) at surface points (u, v) in inches, bilinear
    through the repeat geometry, the tile reduced to about `ppi_near` texels per inch first.

    Every repeat is the basic repeat of its period (`to_basic`: half-drop 2W x H, mirror 2W x 2H),
    so one wrapping bilinear remap of that period samples it; it gives what four lookups through
    `plane_to_tile` would, to float rounding, several times faster."""
    import cv2

    from desktop.repeat import to_basic

    texture, kx, ky = _texture(tile, repeat, tile_in, ppi_near)
    period = np.ascontiguousarray(to_basic(texture, repeat))
    ph, pw = period.shape[:2]
    x = np.mod(u * kx - 0.5, pw).astype(np.float32)  # small coordinates keep float32's precision
    y = np.mod(v * ky - 0.5, ph).astype(np.float32)
    return cv2.remap(period, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def _near_ppi(u: np.ndarray, v: np.ndarray, mask: np.ndarray) -> float:
    """Rendered pixels per surface inch where the surface is nearest (its 99th percentile)."""
    du = np.hypot(np.gradient(u, axis=1), np.gradient(v, axis=1))
    step = du[mask & (du > 0)]
    return float(1.0 / np.percentile(step, 1)) if step.size else 1.0


# -- the scenes ---------------------------------------------------------------------------------

@dataclass
class Scene:
    """A product's geometry and light, the same for every tile (so kept for the next render).

    Its light, background, shadow, what stands in front and any plain strip do not depend on the
    tile, so they are folded once, here, into two factors: a render is `base + colour * gain`."""

    u: np.ndarray  # surface inches, HxW (render size)
    v: np.ndarray
    mask: np.ndarray  # float32 0..1: how much of the pixel is the printed surface
    shade: InitVar[np.ndarray]  # float32 lighting multiplier on the surface
    background: InitVar[np.ndarray]  # HxWx3 float32: what lies around it
    surface_in: tuple[float, float]
    plain: InitVar[np.ndarray | None] = None  # HxW bool: surface points that are not printed (a skirting board)
    plain_colour: InitVar[tuple[int, int, int]] = (236, 234, 228)
    shadow: InitVar[np.ndarray | None] = None  # HxW multiplier: what stands in front casts it on everything
    front: InitVar[tuple[np.ndarray, np.ndarray] | None] = None  # (HxW alpha, HxWx3 colour) standing in front
    near_ppi: float = field(init=False)  # rendered pixels per surface inch where the surface is nearest
    base: np.ndarray = field(init=False, repr=False)  # HxWx3 float32: the scene with nothing printed
    gain: np.ndarray = field(init=False, repr=False)  # HxWx1 float32: how much of the print shows, lit

    def __post_init__(self, shade, background, plain, plain_colour, shadow, front) -> None:
        self.near_ppi = _near_ppi(self.u, self.v, self.mask > 0)
        gain = (shade * self.mask).astype(np.float32)
        base = (background * (1 - self.mask)[..., None]).astype(np.float32)
        if plain is not None:  # painted, not printed: its colour, lit as the surface is
            base[plain] += np.float32(plain_colour) * gain[plain][:, None]
            gain[plain] = 0
        if shadow is not None:
            base *= shadow[..., None]
            gain *= shadow
        if front is not None:
            alpha, colour = front
            base = base * (1 - alpha[..., None]) + colour * alpha[..., None]
            gain *= 1 - alpha
        self.base, self.gain = np.ascontiguousarray(base, np.float32), np.ascontiguousarray(gain[..., None], np.float32)

    def composite(self, colour: np.ndarray) -> np.ndarray:
        """The scene's pixels (float32, 0..255 before clipping) with `colour` on its surface."""
        image = colour * self.gain
        image += self.base
        return image


def _gradient(h: int, w: int, top, bottom) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(np.float32(top) * (1 - t) + np.float32(bottom) * t, (h, w, 3)).copy()


def _soft_shadow(mask: np.ndarray, dx: int, dy: int, blur: float, strength: float) -> np.ndarray:
    """A multiplier (1 where there is no shadow) of `mask` cast by (dx, dy), blurred by `blur` px
    (at a quarter of the size: a soft shadow has no detail to lose)."""
    import cv2

    h, w = mask.shape
    moved = np.roll(np.roll(mask.astype(np.float32), dy, axis=0), dx, axis=1)
    small = cv2.resize(moved, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    soft = cv2.resize(cv2.GaussianBlur(small, (0, 0), max(0.5, blur / 4)), (w, h), interpolation=cv2.INTER_LINEAR)
    return 1.0 - strength * soft


def _swatch(w: int, h: int) -> Scene:
    left, top, right, bottom = _swatch_box(w, h)
    ppi = (right - left) / 36.0  # a yard across
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (xs - left) / ppi, (ys - top) / ppi
    mask = ((xs >= left) & (xs < right) & (ys >= top) & (ys < bottom)).astype(np.float32)
    return Scene(u, v, mask, np.ones((h, w), np.float32), _gradient(h, w, (250, 249, 246), (250, 249, 246)),
                 (36.0, (bottom - top) / ppi))


def _wall(w: int, h: int) -> Scene:
    import cv2

    floor_y, corner_x = 0.80 * h, 0.20 * w
    ppi = floor_y / 96.0  # the back wall: 8 ft from the floor to the top of the picture
    vp = (0.58 * w, 0.46 * floor_y)  # one-point perspective: the vanishing point
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # the back wall, face on
    u = (xs - corner_x) / ppi
    v = ys / ppi
    back = (xs >= corner_x) & (ys < floor_y)
    # the side wall: its top and foot run from the corner away from the vanishing point to x = 0
    def at_left(y_corner: float) -> float:
        return y_corner + (0 - corner_x) * (y_corner - vp[1]) / (corner_x - vp[0])
    depth = 72.0  # inches of the side wall in view
    quad = np.float32([[0, at_left(0.0)], [corner_x, 0.0], [corner_x, floor_y], [0, at_left(floor_y)]])
    rect = np.float32([[0, 0], [depth, 0], [depth, 96.0], [0, 96.0]])
    m = cv2.getPerspectiveTransform(quad, rect).astype(np.float32)
    den = m[2, 0] * xs + m[2, 1] * ys + m[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):  # the horizon, where the side wall never reaches
        su = (m[0, 0] * xs + m[0, 1] * ys + m[0, 2]) / den
        sv = (m[1, 0] * xs + m[1, 1] * ys + m[1, 2]) / den
    side = (xs < corner_x) & (sv >= 0) & (sv < 96.0)
    u = np.where(side, su, u)
    v = np.where(side, sv, v)
    mask = (back | side).astype(np.float32)
    # light from a window to the left: the back wall brighter on its left, the side wall in shade
    shade = np.where(side, 0.80 - 0.06 * (1 - xs / corner_x), 1.04 - 0.12 * (xs - corner_x) / (w - corner_x))
    shade = shade * (1.0 - 0.16 * np.exp(-np.abs(xs - corner_x) / (0.012 * w)))  # the corner's shadow
    shade = shade * (1.0 - 0.10 * np.clip(1 - ys / (0.25 * h), 0, 1) ** 2)  # towards the ceiling
    # the floor: oak boards running towards the vanishing point, darker at the back
    floor = _gradient(h, w, (150, 112, 78), (188, 146, 104))
    angle = np.arctan2(xs - vp[0], ys - vp[1])
    board = np.sin(angle * 30.0)
    floor *= (np.where(board > 0, 1.0, 0.95) * np.where(np.abs(board) < 0.06, 0.86, 1.0))[..., None]
    plain = v > 96.0 - 5.0  # a 5 in skirting board

    sofa_w, sofa_h = 84.0 * ppi * 1.06, 33.0 * ppi * 1.06  # a standard three-seater, a little in front
    sofa_x, sofa_foot = 0.60 * w - sofa_w / 2, floor_y + 0.07 * h

    from PIL import Image, ImageDraw

    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    x0, y0 = sofa_x, sofa_foot - sofa_h
    r = 0.06 * sofa_h
    arm = 0.11 * sofa_w
    draw.rounded_rectangle([x0 + arm * 0.6, y0, x0 + sofa_w - arm * 0.6, y0 + 0.62 * sofa_h], r * 2, fill=255)
    draw.rounded_rectangle([x0, y0 + 0.30 * sofa_h, x0 + arm, sofa_foot - 0.08 * sofa_h], r, fill=255)
    draw.rounded_rectangle([x0 + sofa_w - arm, y0 + 0.30 * sofa_h, x0 + sofa_w, sofa_foot - 0.08 * sofa_h],
                           r, fill=255)
    draw.rounded_rectangle([x0 + arm * 0.8, y0 + 0.50 * sofa_h, x0 + sofa_w - arm * 0.8,
                            sofa_foot - 0.10 * sofa_h], r, fill=255)
    for lx in (x0 + arm * 0.5, x0 + sofa_w - arm * 0.5):
        draw.rectangle([lx - 0.012 * sofa_w, sofa_foot - 0.10 * sofa_h, lx + 0.012 * sofa_w, sofa_foot],
                       fill=255)
    body = np.asarray(layer, np.float32) / 255.0
    lit = _gradient(h, w, (98, 104, 116), (62, 66, 76))
    seams = np.zeros((h, w), np.float32)
    for k in (1, 2):  # the three seat cushions
        cx = int(x0 + arm * 0.8 + k * (sofa_w - 1.6 * arm) / 3)
        seams[int(y0 + 0.5 * sofa_h):int(sofa_foot - 0.1 * sofa_h), max(0, cx - 2):cx + 2] = 1.0
    lit = lit * (1.0 - 0.25 * seams)[..., None]
    shadow = _soft_shadow(body, int(0.012 * w), int(0.008 * h), 0.02 * w, 0.35)

    return Scene(u, v, mask, shade.astype(np.float32), floor, ((w - corner_x) / ppi, 96.0), plain,
                 shadow=shadow, front=(body, lit))


def _fabric(w: int, h: int) -> Scene:
    rail_y, left, right = 0.09 * h, 0.14 * w, 0.86 * w
    cloth_h = 0.80 * h
    ppi_v = cloth_h / 36.0  # a yard hanging
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.clip((xs - left) / (right - left), 0.0, 1.0)
    depth = np.clip((ys - rail_y) / cloth_h, 0.0, 1.0)
    # folds: a sum of waves, gathered a little at the rail and deeper towards the hem
    amplitude = (0.35 + 0.65 * depth ** 0.8) * 0.030 * w
    z = amplitude * (np.sin(2 * np.pi * 5.0 * t + 0.4) + 0.45 * np.sin(2 * np.pi * 9.0 * t + 1.7)
                     + 0.25 * np.sin(2 * np.pi * 2.0 * t + 0.3))
    dz_dx = np.gradient(z, axis=1)
    dz_dy = np.gradient(z, axis=0)
    # the cloth is 54 in wide in every row: what a fold turns away is compressed in view
    stretch = np.sqrt(1.0 + dz_dx ** 2) * ((xs >= left) & (xs < right))
    arc = np.cumsum(stretch, axis=1)
    u = arc / np.maximum(arc[:, -1:], 1e-6) * 54.0
    v = (ys - rail_y) / ppi_v
    hem = rail_y + cloth_h + 0.35 * z[:, :]  # the hem follows the folds
    mask = ((xs >= left) & (xs < right) & (ys >= rail_y) & (ys < hem)).astype(np.float32)
    normal = np.stack([-dz_dx, -dz_dy, np.ones_like(z)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    light = np.float32([-0.45, -0.35, 1.0])
    light /= np.linalg.norm(light)
    lambert = np.clip(normal @ light, 0.0, 1.0) / float(light[2])
    shade = (0.30 + 0.74 * lambert).astype(np.float32)
    background = _gradient(h, w, (232, 230, 226), (206, 203, 198))
    background *= _soft_shadow(mask, int(0.018 * w), int(0.012 * h), 0.015 * w, 0.30)[..., None]

    from PIL import Image, ImageDraw

    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    r = 0.008 * h
    draw.rounded_rectangle([0.06 * w, rail_y - r * 1.6, 0.94 * w, rail_y + r * 0.4], r, fill=255)
    for fx in (0.06 * w, 0.94 * w):
        draw.ellipse([fx - 2.4 * r, rail_y - 3.0 * r, fx + 2.4 * r, rail_y + 1.8 * r], fill=255)
    for k in range(11):  # rings
        rx = left + k * (right - left) / 10
        draw.ellipse([rx - 1.3 * r, rail_y - 2.2 * r, rx + 1.3 * r, rail_y + 0.9 * r], outline=255,
                     width=max(1, round(0.35 * r)))
    rod = np.asarray(layer, np.float32) / 255.0
    brass = _gradient(h, w, (176, 142, 76), (120, 92, 44))

    return Scene(u, v, mask, shade, background, (54.0, 36.0), front=(rod, brass))


def _cushion(w: int, h: int) -> Scene:
    cx, cy, half = 0.5 * w, 0.48 * h, 0.36 * w
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    p, q = (xs - cx) / half, (ys - cy) / half
    pinch = 0.07  # the stuffing pulls each edge in at its middle; the corners stay out
    ex = 1.0 - pinch * (1.0 - np.clip(q, -1, 1) ** 2)
    ey = 1.0 - pinch * (1.0 - np.clip(p, -1, 1) ** 2)
    a, b = p / ex, q / ey
    inside = (np.abs(a) <= 1.0) & (np.abs(b) <= 1.0)
    # the cover bulges: a height field, and the fabric drawn a little towards the middle
    ac, bc = np.clip(a, -1, 1), np.clip(b, -1, 1)
    height = (1 - ac ** 2) * (1 - bc ** 2) * 0.16 * half
    a_t = ac * (1.0 - 0.06 * (1 - bc ** 2))
    b_t = bc * (1.0 - 0.06 * (1 - ac ** 2))
    u, v = (a_t + 1) / 2 * 18.0, (b_t + 1) / 2 * 18.0
    gy, gx = np.gradient(height)
    normal = np.stack([-gx, -gy, np.ones_like(height)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    light = np.float32([-0.40, -0.55, 1.0])
    light /= np.linalg.norm(light)
    shade = 0.38 + 0.70 * np.clip(normal @ light, 0.0, 1.0) / float(light[2])
    edge = np.maximum(np.abs(a), np.abs(b))
    shade = shade * (1.0 - 0.22 * np.clip((edge - 0.985) / 0.015, 0, 1))  # the piping
    mask = inside.astype(np.float32)
    background = _gradient(h, w, (226, 222, 215), (200, 194, 186))
    background *= _soft_shadow(mask, int(0.02 * w), int(0.03 * h), 0.025 * w, 0.38)[..., None]
    return Scene(u, v, mask, shade.astype(np.float32), background, (18.0, 18.0))


SCENES: dict[str, Callable[[int, int], Scene]] = {"wall": _wall, "fabric": _fabric, "cushion": _cushion,
                                                  "swatch": _swatch}


@lru_cache(maxsize=2)  # a product's scene is the same for every tile: a new scale or tile redraws fast
def scene(product: str, width: int, height: int) -> Scene:
    made = SCENES[product](width, height)
    for value in vars(made).values():
        for array in (value if isinstance(value, tuple) else (value,)):
            if isinstance(array, np.ndarray):
                array.setflags(write=False)
    return made


def render(tile: np.ndarray, repeat: str, product: str, tile_in: tuple[float, float], units: str = "in",
           check_cancelled: Callable[[], None] | None = None) -> Mockup:
    """`tile` (HxWx3 or HxWx4 uint8) repeating on `product` with one tile `tile_in` inches;
    `check_cancelled()` (which raises to stop) is called between the render's stages."""
    import cv2

    from desktop.repeat import check_size, parse_repeat

    if product not in PRODUCTS:
        raise UserError(f"unknown product '{product}': choose one of {', '.join(PRODUCTS)}")
    if units not in ("in", "cm"):
        raise UserError(f"rulers are in 'in' or 'cm', not '{units}'")
    tile = np.asarray(tile)
    if tile.ndim != 3 or tile.shape[2] not in (3, 4):
        raise UserError("a mockup needs an RGB tile")
    repeat = str(parse_repeat(repeat))
    check_size(repeat, tile.shape[1], tile.shape[0])
    tile_in = (float(tile_in[0]), float(tile_in[1]))
    if min(tile_in) <= 0:
        raise UserError("a tile's printed size must be more than zero")
    width, height = PRODUCTS[product].size
    check = check_cancelled or (lambda: None)
    made = scene(product, width * SUPER, height * SUPER)
    check()
    colour = sample(tile, repeat, tile_in, made.u, made.v, made.near_ppi)
    check()
    image = made.composite(colour)
    image = cv2.resize(np.clip(image, 0, 255, out=image), (width, height), interpolation=cv2.INTER_AREA)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    result = Mockup(image, product, repeat, tile_in, made.surface_in)
    if product == "swatch":
        result.image = _rulers(result, units)
    return result


# -- the swatch's rulers and caption ------------------------------------------------------------

SWATCH_BOX = (0.075, 0.075, 0.035, 0.1)  # the swatch's margins: left and top (of the width), right, bottom


def _swatch_box(w: int, h: int) -> tuple[float, float, float, float]:
    left, top, right, bottom = SWATCH_BOX
    return left * w, top * w, w - right * w, h - bottom * h


def _rulers(made: Mockup, units: str) -> np.ndarray:
    """The swatch's rulers along the top and down the left (inch ticks, labelled every 6 in; or
    centimetres, labelled every 10), one tile outlined at the corner, and a caption."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = made.image.shape[:2]
    left, top, right, bottom = _swatch_box(w, h)
    ppi = (right - left) / 36.0
    per_tick, major, middle = (ppi, 6, 3) if units == "in" else (ppi / CM_PER_INCH, 10, 5)
    page = Image.fromarray(made.image)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=14)
    ink = (40, 40, 44)
    for along_top, start, end in ((True, left, right), (False, top, bottom)):
        for k in range(int((end - start) / per_tick + 1e-6) + 1):
            at = start + k * per_tick
            length = 18 if k % major == 0 else 11 if k % middle == 0 else 6
            if along_top:
                draw.line([(at, top - 4 - length), (at, top - 4)], fill=ink, width=1)
                if k % major == 0:
                    draw.text((at + 3, top - 6 - length), f"{k}", fill=ink, font=font, anchor="ls")
            else:
                draw.line([(left - 4 - length, at), (left - 4, at)], fill=ink, width=1)
                if k % major == 0 and k:
                    draw.text((left - 6 - length, at + 4), f"{k}", fill=ink, font=font, anchor="rt")
    draw.text((left - 24, top - 24), units, fill=ink, font=font, anchor="mm")
    tw, th = made.tile_in[0] * ppi, made.tile_in[1] * ppi  # one tile, outlined
    if tw < right - left and th < bottom - top:
        for inset, colour in ((0, (255, 255, 255)), (1, (20, 20, 24))):
            draw.rectangle([left + inset, top + inset, left + tw - inset, top + th - inset], outline=colour)
    caption = (f"One tile {tile_size_text(made.tile_in, units)} "
               f"({made.repeat}) · {made.repeats[0]:.1f} across this {_length(made.surface_in[0], units)} width")
    draw.text((left, bottom + 0.035 * h), caption, fill=ink, font=ImageFont.load_default(size=17), anchor="lm")
    return np.asarray(page)


def tile_size_text(tile_in: tuple[float, float], units: str = "in") -> str:
    """'1.71 by 1.71 in', '4.3 by 4.3 cm': one tile's printed size, for a caption."""
    width, height = (_length(side, units) for side in tile_in)
    return f"{width.removesuffix(' ' + units)} by {height}"


def _length(inches: float, units: str) -> str:
    if units == "cm":
        return f"{inches * CM_PER_INCH:.1f} cm"
    return f"{inches:.2f} in" if inches < 10 else f"{inches:.1f} in"
