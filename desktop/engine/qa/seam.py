"""The seam judgment: does the tile continue across each wrapped edge as it does inside?

A seam is judged by **continuity**, not only by strength. Each wrapped edge (left/right and
top/bottom, through the repeat, so half-drop and half-brick neighbours are the right ones) is a
join between two columns (rows) of pixels, and so is every pair of neighbouring columns inside
the tile. Each join is described at four scales (1, 2, 4 and 8 px blocks) by two numbers: how
alike the two sides are (their correlation along the join) and the mean step across it. Then:

- **continuity**: the wrap passes when some join inside the tile is no more continuous at every
  scale (a tile's own grout line, plank edge or drawn line is such a join, so an edge that runs
  along one passes). A wrap less continuous than every join inside, whose step is also clearly
  larger than a normal step (``max_step_ratio``), is a seam: lines that do not meet, a texture
  whose statistics change.
- **periodicity**: a tile with a strong period of its own (bricks, tiles, plates, drawn patterns)
  must keep it across the wrap: the columns after the edge must be the ones a period earlier.
  A crop that is not a whole number of periods breaks it, however strong its lines.
- **banding**: uneven light (a tile lit brighter on one side) steps the low-frequency lightness
  at the wrap. Measured three ways on the column (row) means: a ramp fitted to the whole tile with
  its drop at the wrap, against the same ramp with its drop anywhere else (a sawtooth on the wall;
  this finds a ±10 % ramp under a busy texture's own shading); a linear fit each side of every join,
  so a smooth ramp inside does not count and its jump at the wrap does; and, for a periodic tile,
  the signed difference one period apart, which a ramp turns one way inside and the other way
  across the wrap.

A step smaller than ``min_visible_step`` grey levels is never a seam (nobody sees it). Every
quantity the verdict came from is in the result's details (``tessera qa --explain``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from desktop.engine.qa.report import FAIL, PASS, CheckResult
from desktop.repeat import Repeat, parse_repeat, window

SCALES = (1, 2, 4, 8)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


STEP_CHUNK_BYTES = 32 << 20  # step_means reads a large image this many bytes of rows at a time


def step_means(img: np.ndarray, axis: int) -> np.ndarray:
    """Mean absolute step between neighbouring columns (axis 1) or rows (axis 0), over channels.

    `img` is HxW or HxWxC, uint8 or float32 (other types go through numpy). A large image (a scan) is
    read in bands of rows, so the steps cost a band's memory, not a second copy of the image."""
    h, w = img.shape[:2]
    c = img.shape[2] if img.ndim == 3 else 1
    if img.dtype not in (np.uint8, np.float32):
        return np.abs(np.diff(img.reshape(h, w, c), axis=axis)).mean(axis=(0, 2) if axis == 1 else (1, 2))
    band = max(2, STEP_CHUNK_BYTES // max(1, w * c * img.itemsize))
    if h <= band + 1:
        return _band_steps(img, axis)
    # bands of rows; for row steps each band starts on the last row of the one before
    if axis == 1:
        sums = sum(_band_steps(img[r:r + band], 1).astype(np.float64) * len(img[r:r + band]) for r in range(0, h, band))
        return (sums / h).astype(np.float32)
    return np.concatenate([_band_steps(img[r:r + band + 1], 0) for r in range(0, h - 1, band)])


def _band_steps(img: np.ndarray, axis: int) -> np.ndarray:
    h, w = img.shape[:2]
    c = img.shape[2] if img.ndim == 3 else 1
    # absdiff (saturating for uint8) and a float reduce: exact, and fast (rows need no transpose)
    if axis == 1:
        steps = cv2.absdiff(img[:, 1:], img[:, :-1])  # column slices are regions OpenCV reads as they are
        sums = cv2.reduce(steps.reshape(h, -1), 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F)
        return sums.reshape(w - 1, c).sum(axis=1) / (h * c)
    steps = cv2.absdiff(img[1:], img[:-1])  # row slices of a contiguous image are contiguous
    sums = cv2.reduce(steps.reshape(h - 1, -1), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32F)
    return sums.ravel() / (w * c)


def edge_stats(img: np.ndarray, repeat: Repeat) -> dict[str, np.ndarray]:
    """The step across each wrapped edge, pixel by pixel along it (`wrap_x`, `wrap_y`), and the mean step
    of every column and row join inside (`cols`, `rows`): the full-size step rule's inputs. Small
    arrays, whatever the image's size (a scan's, read at full resolution, go with its reduced copy)."""
    h, w = img.shape[:2]
    # the neighbours the repeat puts just right of the right edge and just below the bottom edge
    right = window(img, repeat, w, 0, 1, h)[:, 0].astype(np.float32)
    below = window(img, repeat, 0, h, w, 1)[0].astype(np.float32)
    wrap_x = np.abs(right - img[:, w - 1].astype(np.float32)).mean(axis=-1)
    wrap_y = np.abs(below - img[h - 1].astype(np.float32)).mean(axis=-1)
    return {"wrap_x": wrap_x, "wrap_y": wrap_y, "cols": step_means(img, 1), "rows": step_means(img, 0)}


def band_energy_ratio(stats: dict, band: int = 2) -> float:
    """Second view: the seam rolled into the centre; the centre band's step energy ÷ the median band's.

    Rolling a tile by half through its repeat keeps every column (row) step of the tile, moved
    round, and puts the wrap step in the middle (a half-drop's vertical shift does not change a
    column's mean step), so the rolled profile is made from the seam statistics themselves.
    """
    out = 0.0
    for steps, wrap in ((stats["cols"], stats["wrap_x"]), (stats["rows"], stats["wrap_y"])):
        shift = (len(steps) + 1) // 2
        energy = np.roll(np.append(steps, wrap.mean()), shift)  # the wrap step was last: now mid-way
        middle = (len(steps) + shift) % len(energy)
        n = len(energy) // (2 * band + 1)
        if n == 0:  # a tile a few pixels across has no bands to compare
            continue
        bands = energy[: n * (2 * band + 1)].reshape(n, -1).mean(axis=1)
        centre = energy[max(0, middle - band):middle + band + 1].mean()
        out = max(out, float(centre / max(np.median(bands), 1e-6)))
    return out


def seam_heatmap(stats: dict, h: int, w: int, reference: float, width: int) -> np.ndarray:
    """Where the seam breaks: per-pixel wrap steps over the interior reference, drawn along the edges."""
    heat = np.zeros((h, w), np.float32)
    sx = np.clip(stats["wrap_x"] / (2.0 * reference) - 0.25, 0, 1).astype(np.float32)
    sy = np.clip(stats["wrap_y"] / (2.0 * reference) - 0.25, 0, 1).astype(np.float32)
    fade = np.linspace(1.0, 0.2, width, dtype=np.float32)
    across = sx[:, None] * fade[None, :]  # (h, width): strongest at the edge
    heat[:, :width] = across
    heat[:, w - width:] = across[:, ::-1]
    down = sy[None, :] * fade[:, None]  # (width, w)
    heat[:width] = np.maximum(heat[:width], down)
    heat[h - width:] = np.maximum(heat[h - width:], down[::-1])
    return heat


SAMPLES = 1 << 30  # every row (block): sampling fewer moved borderline structured tiles (stone-brick-wall)


def _gray(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img.astype(np.float32)
    if img.dtype == np.uint8:
        return cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.ascontiguousarray(img[..., :3].astype(np.float32) @ _LUMA)


def _row_blocks(image: np.ndarray, s: int) -> np.ndarray:
    """Blocks of s rows, averaged, at most SAMPLES of them spread evenly down the image."""
    rows = image.shape[0] // s
    if rows > SAMPLES:
        starts = (np.arange(SAMPLES) * rows // SAMPLES) * s
        image = image[(starts[:, None] + np.arange(s)).ravel()]
        rows = SAMPLES
    if s == 1:
        return image[:rows]
    if s == 2:  # the two rows of each block, added and halved: two passes where a mean over an axis takes many
        pairs = image[:rows * 2]
        return cv2.addWeighted(pairs[0::2], 0.5, pairs[1::2], 0.5, 0.0, dtype=cv2.CV_32F)
    return image[:rows * s].reshape(rows, s, -1).mean(axis=1, dtype=np.float32)


def _column_sums(values: np.ndarray) -> np.ndarray:
    """Each column's sum, in float64 (OpenCV's reduce: several times numpy's for a float32 image)."""
    return cv2.reduce(values, 0, cv2.REDUCE_SUM, dtype=cv2.CV_64F).ravel()


def _scale_boxes(tile: np.ndarray, after: np.ndarray, scales: tuple[int, ...]) -> list[np.ndarray]:
    """Per scale s, the tile and the columns after its right edge in s x s blocks: boxes[:, x] is the
    mean of columns x .. x+s-1 over each block of s rows, for x = 0 .. w (w: the wrap's right side)."""
    w = tile.shape[1]
    reach = max(scales)
    extended = np.concatenate([tile, after[:, :reach]], axis=1)
    out, blocks = [], extended
    for s in scales:
        # each scale's row blocks from the last one's (SCALES double): half the rows to average each time
        blocks = _row_blocks(blocks, 2) if s > 1 else _row_blocks(extended, 1)
        # the mean of s columns from x: of s/2 from x and s/2 from x + s/2, down to single columns (an
        # addition of two views per doubling: cheaper than a box filter, and only the columns read are made)
        boxes, width = blocks, 1
        while width < s:
            boxes = cv2.addWeighted(boxes[:, :-width], 0.5, boxes[:, width:], 0.5, 0.0, dtype=cv2.CV_32F)
            width *= 2
        out.append(boxes[:, :w + 1])
    return out


def join_steps(boxes: list[np.ndarray], scales: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The mean step of every join at every scale, (len(scales), n + 1): the interior joins x = 8 .. w - 8
    (between the s-column blocks either side of x), then the wrap; and the wrap's signed step along it,
    block by block at the last scale."""
    reach = max(scales)
    steps = []
    for s, box in zip(scales, boxes):
        w, n = box.shape[1] - 1, box.shape[0]
        gaps = cv2.absdiff(box[:, reach - s:w - reach + 1 - s], box[:, reach:w - reach + 1])
        wrap_gap = np.abs(box[:, w - s] - box[:, w]).mean(dtype=np.float64)
        steps.append(np.append(_column_sums(gaps) / n, wrap_gap))
        across = box[:, w] - box[:, w - s]
    return np.array(steps), across


def join_correlations(boxes: list[np.ndarray], scales: tuple[int, ...], picked: np.ndarray) -> np.ndarray:
    """How alike the two sides of some joins are (their correlation along the join), at every scale:
    (len(scales), len(picked) + 1), the joins `picked` (indices into join_steps' interior joins), then
    the wrap. A blank side (under a grey level of variation) joins anything (1)."""
    reach = max(scales)
    rhos = []
    for s, box in zip(scales, boxes):
        w, n = box.shape[1] - 1, box.shape[0]
        m = len(picked) + 1
        # the columns either side of each join, side by side: [left sides | right sides]
        sides = box[:, np.concatenate([picked + reach - s, [w - s], picked + reach, [w]])]
        # one sum per column (in float64) of the sides, their squares and the pairs' products: each side's
        # mean and spread, and their covariance
        sums = _column_sums(np.concatenate([sides, sides * sides, sides[:, :m] * sides[:, m:]], axis=1)) / n
        mean_l, mean_r = sums[:m], sums[m:2 * m]
        var_l = np.maximum(sums[2 * m:3 * m] - mean_l ** 2, 0.0)
        var_r = np.maximum(sums[3 * m:4 * m] - mean_r ** 2, 0.0)
        cross = sums[4 * m:]
        rho = (cross - mean_l * mean_r) / np.sqrt(np.maximum(var_l * var_r, 1e-12))
        rhos.append(np.where((var_l < 1.0) | (var_r < 1.0), 1.0, rho))
    return np.array(rhos)


NO_PERIOD = {"period": 0, "period_strength": 0.0, "period_ratio": 0.0, "period_drift": 0.0, "period_wrap_drift": 0.0}


def period(tile: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """The tile's strongest period across (by its rows' autocorrelation), how strong it is, and
    whether the wrap keeps it: the columns after the edge against those one period earlier."""
    w = tile.shape[1]
    lags = np.arange(8, w // 2 + 1)  # at least two periods in the tile
    if len(lags) == 0:
        return dict(NO_PERIOD)
    sample = tile[np.linspace(0, tile.shape[0] - 1, min(tile.shape[0], 64)).astype(int)]  # the rows' average
    centred = sample - sample.mean(axis=1, keepdims=True)
    # not circular (zero-padded), per overlapping pixel: a crop's broken wrap does not weaken its period
    spectrum = np.fft.rfft(centred, n=2 * w, axis=1)
    auto = np.fft.irfft((spectrum * spectrum.conj()).real.sum(axis=0), n=2 * w)[:w] / (w - np.arange(w))
    auto /= max(float(auto[0]), 1e-6)
    # a period is a peak after the autocorrelation has first fallen (a smooth tile is merely alike nearby)
    rises = np.flatnonzero(np.diff(auto[:w // 2 + 1]) > 0)
    lags = lags[lags > (rises[0] if len(rises) else w)]
    if len(lags) == 0:
        return dict(NO_PERIOD)
    p = int(lags[np.argmax(auto[lags])])
    k = min(8, p)
    later, earlier = tile[:, p:], tile[:, :w - p]  # each column against the one a period before it
    across = after[:, :k] - tile[:, w - p:w - p + k]
    e_ref = cv2.norm(later, earlier, cv2.NORM_L1) / later.size  # the mean |difference|, with no copy made
    return {"period": p, "period_strength": float(auto[p]),
            "period_ratio": float(np.abs(across).mean()) / max(e_ref, 0.5),
            # signed: uneven light moves one way a period on inside, and back across the wrap
            "period_drift": cv2.mean(later)[0] - cv2.mean(earlier)[0], "period_wrap_drift": float(across.mean())}


def column_means(tile: np.ndarray) -> np.ndarray:
    """Each column's mean, in float64 (the lighting measures read a tile through these alone)."""
    return cv2.reduce(tile, 0, cv2.REDUCE_AVG, dtype=cv2.CV_64F).ravel()


def _means(tile: np.ndarray) -> np.ndarray:
    return tile if tile.ndim == 1 else column_means(tile)


def lighting_jumps(tile: np.ndarray) -> np.ndarray:
    """The signed step of the low-frequency lightness at every join x = b .. w (the last is the wrap), in
    grey levels, start minus end: the column means, a straight line fitted to an eighth of the tile each
    side of a join and both carried to it (column means ignore a half-drop's shift, so the wrap is the
    tile's start). A tile lit brighter towards its right edge steps down at the wrap. `tile`: a grey
    image, or its column means."""
    means = _means(tile)
    w = len(means)
    b = max(4, w // 8)
    ext = np.concatenate([means, means[:b]])
    win = np.lib.stride_tricks.sliding_window_view(ext, b)  # win[i] = ext[i:i+b]
    t = np.arange(b) - (b - 1) / 2
    mean, slope = win.mean(axis=1), win @ t / (t @ t)
    x = np.arange(b, w + 1)
    return (mean[x] - slope[x] * b / 2) - (mean[x - b] + slope[x - b] * b / 2)


def light_sawtooth(tile: np.ndarray) -> tuple[float, float]:
    """The lightness's rise across the tile, fitted as a ramp whose drop is at the wrap; and, for scale,
    the largest rise fitted with the drop put anywhere a quarter of the tile or more away from it.

    A tile lit brighter towards one side is a ramp across the whole tile, which repeats as a sawtooth:
    its column means fit a straight line whose drop is at the wrap, and fit it only half as well with
    the drop half a tile away. A texture's own light and shade fit a ramp about as well wherever its drop
    is put. Fitting the whole tile, not an eighth each side of the wrap, is what finds a ±10 % ramp under
    a busy texture's own shading. Grey levels; the sign says which way (positive: brighter towards the end).
    `tile`: a grey image, or its column means.
    """
    means = _means(tile)
    w = len(means)
    x = np.arange(w) - (w - 1) / 2
    x /= max(float(x @ x), 1e-9)
    # rises[j] = the fitted rise with the drop before column j: one circular correlation for every j
    rises = np.fft.irfft(np.conj(np.fft.rfft(x)) * np.fft.rfft(means), n=w) * w
    far = np.abs(rises[w // 4:w - w // 4 + 1])
    return float(rises[0]), float(far.max()) if len(far) else 0.0


def lighting_jump(tile: np.ndarray) -> tuple[float, float]:
    """(the wrap's lighting step, the largest inside, away from the wrap), in grey levels."""
    means = _means(tile)
    jump = np.abs(lighting_jumps(means))
    w, b = len(means), max(4, len(means) // 8)
    inside = jump[b:w - 2 * b + 1] if w - 2 * b + 1 > b else jump[:0]
    return float(jump[-1]), float(inside.max()) if len(inside) else 0.0


@dataclass
class EdgeJudgment:
    """One wrapped edge: the verdict and every quantity it came from."""

    edge: str
    verdict: str = PASS
    reason: str = ""  # continuity | period | banding | "" (passed)
    wrap_step: float = 0.0  # grey levels, at full size
    step_ratio: list[float] = field(default_factory=list)  # the wrap's step / the median join's, per scale
    # the joins' correlations, measured only where continuity could fail the edge (continuity_measured)
    continuity_measured: bool = False
    wrap_rho: list[float] = field(default_factory=list)
    joins_stepping: int = 0  # joins inside that step about as much as the wrap at every scale
    joins_as_broken: int = 0  # ... and are no more continuous than it at any (none: the wrap is a seam)
    joins: int = 0
    light_jump: float = 0.0
    light_jump_inside: float = 0.0
    light_agreement: float = 0.0  # the share of the edge whose step goes the way the light's does (1: all of it)
    light_share: float = 0.0  # the lighting step as a share of the tile's mean lightness
    light_rise: float = 0.0  # the ramp across the whole tile with its drop at the wrap (light_sawtooth)
    light_rise_elsewhere: float = 0.0  # the largest such ramp with its drop a quarter tile or more away
    light_rise_share: float = 0.0  # light_rise as a share of the tile's mean lightness
    period: dict[str, float] = field(default_factory=dict)
    full_ratio: float = 0.0  # at full size: the wrap's mean step / the mean step inside
    full_vs_strongest: float = 0.0  # ... / the strongest column (row) step inside

    def as_dict(self) -> dict:
        """Its fields, as dataclasses.asdict gives them (its lists are made for it alone: no deep copy)."""
        return {**vars(self), "step_ratio": list(self.step_ratio), "wrap_rho": list(self.wrap_rho),
                "period": dict(self.period)}


def _row_medians(values: np.ndarray) -> np.ndarray:
    """np.median(values, axis=1), by one sort (several times quicker for a few short rows)."""
    ordered = np.sort(values, axis=1)
    n = ordered.shape[1]
    return (ordered[:, (n - 1) // 2] + ordered[:, n // 2]) / 2


def judge_edge(tile: np.ndarray, after: np.ndarray, edge: str, cfg: dict) -> EdgeJudgment:
    # the scales a tile this small has room for (four blocks across and down): none below 4 px, where only
    # the full-size step rule (check_seam) judges
    scales = tuple(s for s in SCALES if min(tile.shape) >= 4 * s)
    if not scales:
        return EdgeJudgment(edge, wrap_step=float(np.abs(after[:, 0] - tile[:, -1]).mean()))
    boxes = _scale_boxes(tile, after, scales)
    step, across = join_steps(boxes, scales)
    medians = _row_medians(step[:, :-1])
    ratios = step[:, -1] / np.maximum(medians, 1e-3)
    visible = cfg.get("min_visible_step", 1.5)
    # continuity can fail only a visible wrap whose step is clearly larger than a normal one somewhere: only
    # then do the joins' correlations decide anything (most tiles' wraps are not, and skip their cost)
    measured = float(step[0, -1]) >= visible and float(max(ratios)) >= cfg.get("max_step_ratio", 1.6)
    if measured:
        # a join inside breaks like the wrap when it steps about as much at every scale and is no more
        # continuous at any: the correlations are measured only for the joins whose steps qualify
        stepping = np.flatnonzero(np.all(step[:, -1:] <= step[:, :-1] * cfg.get("step_tolerance", 1.3) + 0.5, axis=0))
        rho = join_correlations(boxes, scales, stepping)
        as_broken = np.all(rho[:, -1:] >= rho[:, :-1] - cfg.get("rho_tolerance", 0.1), axis=0)
    means = column_means(tile)
    light, light_inside = lighting_jump(means)
    rise, rise_elsewhere = light_sawtooth(means)
    lightness = max(float(means.mean()), 1.0)
    judged = EdgeJudgment(edge, wrap_step=float(step[0, -1]), step_ratio=[round(float(r), 3) for r in ratios],
                          continuity_measured=measured,
                          wrap_rho=[round(float(r), 3) for r in rho[:, -1]] if measured else [],
                          joins_stepping=len(stepping) if measured else 0,
                          joins_as_broken=int(as_broken.sum()) if measured else 0, joins=int(step.shape[1] - 1),
                          light_jump=round(light, 2), light_jump_inside=round(light_inside, 2),
                          light_agreement=round(float(np.mean(np.sign(across) == np.sign(np.median(across)))), 3),
                          light_share=round(light / lightness, 3),
                          light_rise=round(rise, 2), light_rise_elsewhere=round(rise_elsewhere, 2),
                          light_rise_share=round(abs(rise) / lightness, 3),
                          period={k: round(v, 3) for k, v in period(tile, after).items()})
    per = judged.period
    periodic = per["period_strength"] >= cfg.get("period_strength", 0.8)
    if judged.wrap_step >= visible and periodic and per["period_ratio"] >= cfg.get("max_period_ratio", 2.0):
        judged.verdict, judged.reason = FAIL, "period"
    elif _banded(judged, periodic, cfg):  # before continuity: uneven light also steps a soft texture's wrap
        judged.verdict, judged.reason = FAIL, "banding"
    elif measured and judged.joins_as_broken < 1:  # (measured: a visible wrap, clearly stronger than a normal step)
        judged.verdict, judged.reason = FAIL, "continuity"
    return judged


def _banded(judged: EdgeJudgment, periodic: bool, cfg: dict) -> bool:
    least = cfg.get("min_light_jump", 3.0)
    rise = abs(judged.light_rise)
    if (rise >= least and cfg.get("min_light_rise_share", 0.03) <= judged.light_rise_share
            <= cfg.get("max_light_share", 0.4) and rise >= cfg.get("min_light_rise_ratio", 1.3) * judged.light_rise_elsewhere):
        return True  # a ramp across the whole tile, dropping at the wrap: a sawtooth on the wall
    per = judged.period
    if periodic:  # the period's own difference: one way a period on inside, back across the wrap
        drift, back = per["period_drift"], per["period_wrap_drift"]
        return drift * back < 0 and abs(back) >= least and abs(drift) >= 0.5 * least
    if judged.light_agreement < cfg.get("min_light_agreement", 0.75) or judged.light_share > cfg.get(
            "max_light_share", 0.4):
        return False  # light steps one way all along an edge, by a share of the lightness; a cut does not
    return judged.light_jump >= least and judged.light_jump >= cfg.get("max_light_ratio", 1.3) * judged.light_jump_inside


JUDGED_SIDE = 1024  # tiles this large or larger are judged at half size (or less)


def judged_size(img: np.ndarray) -> np.ndarray:
    """The tile by exact halvings (2x2 means) while its longer side is at least JUDGED_SIDE: a seamless tile
    stays seamless, a wrap boundary stays a boundary, and the half-drop shift stays whole (sides of 4n)."""
    while max(img.shape[:2]) >= JUDGED_SIDE and img.shape[0] % 4 == 0 and img.shape[1] % 4 == 0:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return img


def judge_edges(img: np.ndarray, repeat: Repeat, cfg: dict, judged: np.ndarray | None = None
                ) -> tuple[EdgeJudgment, EdgeJudgment]:
    """Both wrapped edges of a tile, through its repeat (the columns after the right edge, the rows below).
    `judged`: judged_size(img), where the caller has it already."""
    img = judged_size(img) if judged is None else judged
    h, w = img.shape[:2]
    reach = max(SCALES)
    gray = _gray(img)
    right = _gray(window(img, repeat, w, 0, reach, h))
    below = _gray(window(img, repeat, 0, h, w, reach))
    return (judge_edge(gray, right, "left/right", cfg),
            judge_edge(cv2.transpose(gray), cv2.transpose(below), "top/bottom", cfg))


def banded_edges(img: np.ndarray, repeat: Repeat | str, cfg: dict) -> tuple[bool, bool]:
    """Whether the left/right and the top/bottom edges step in light (banding), whatever else they do."""
    edges = judge_edges(img, parse_repeat(repeat), cfg)
    strength = cfg.get("period_strength", 0.8)
    return tuple(_banded(e, e.period["period_strength"] >= strength, cfg) for e in edges)  # type: ignore[return-value]


def _sentence(edge: EdgeJudgment) -> str:
    ratio = max(edge.step_ratio, default=edge.full_ratio)
    if edge.reason == "period":
        return (f"Visible seam at the {edge.edge} edges: the tile's own pattern repeats every "
                f"{int(edge.period['period'])} px and the repeat breaks it (the tile is not a whole number of "
                "its repeats, or is cut off-beat).")
    if edge.reason == "step":
        return (f"Visible seam at the {edge.edge} edges: the step across the repeat is {edge.full_ratio:.1f}× a normal "
                f"step in this tile and {edge.full_vs_strongest:.1f}× its strongest edge.")
    if edge.reason == "continuity":
        return (f"Visible seam at the {edge.edge} edges: the texture does not continue across the repeat "
                f"(the step there is {ratio:.1f}× a normal step, and no join inside the tile breaks like it).")
    jump = max(edge.light_jump, abs(edge.light_rise)) or abs(edge.period.get("period_wrap_drift", 0.0))
    return (f"Light banding at the {edge.edge} edges: the lighting changes across the tile, so a wall of it shows "
            f"light and dark bands (a {jump:.0f}-level step where the tiles meet). Even out the lighting of the "
            "source before it repeats.")


def _resampled(profile: np.ndarray, n: int) -> np.ndarray:
    """A profile along a full-resolution edge, at n points (the reduced copy's pixels along it)."""
    if len(profile) == n:
        return profile
    return np.interp(np.linspace(0, len(profile) - 1, n), np.arange(len(profile)), profile).astype(np.float32)


def check_seam(img: np.ndarray, repeat: Repeat | str, cfg: dict, full: dict | None = None,
               judged: np.ndarray | None = None) -> CheckResult:
    """`img` is HxWx3 uint8 (or float in 0..255 units, the scale of the published thresholds).

    `full`: where `img` is a reduced copy of a larger image (a scan), that image's `edge_stats`, read at
    full resolution: the step rule then judges the pixels either side of each wrap as they are, where
    a few pixels' misfit that the reduction averages away still shows in print. `judged`: judged_size(img),
    where the caller has made it already (QA's colour checks start from the same halvings)."""
    repeat = parse_repeat(repeat)
    h, w = img.shape[:2]
    if repeat is Repeat.MIRROR:
        return CheckResult("seam", "Seam", PASS, 0.0, cfg.get("max_step_ratio", 1.6),
                           "Mirror repeats meet themselves at every edge: seamless by construction.",
                           {"ratio": 0.0}, np.zeros((h, w), np.float32))
    across, down = judge_edges(img, repeat, cfg, judged)
    if full is not None:  # the step rule and its drawing at full resolution, drawn along the copy's edges
        stats = {"wrap_x": _resampled(full["wrap_x"], h), "wrap_y": _resampled(full["wrap_y"], w),
                 "cols": full["cols"], "rows": full["rows"]}
        rule = full
    else:
        stats = rule = edge_stats(img, repeat)
    eps = 1e-6
    for edge, wrap, inside in ((across, rule["wrap_x"], rule["cols"]), (down, rule["wrap_y"], rule["rows"])):
        # at full size, a step across the wrap stronger than any inside the tile is a seam, whatever else
        step = float(wrap.mean())
        edge.full_ratio = round(step / max(float(inside.mean()), eps), 3)
        edge.full_vs_strongest = round(step / max(float(inside.max()), eps), 3)
        if (edge.verdict != FAIL and step >= cfg.get("min_visible_step", 1.5)
                and edge.full_ratio > cfg.get("max_ratio", 1.6)
                and edge.full_vs_strongest > cfg.get("max_ratio_vs_strongest", 1.15)):
            edge.verdict, edge.reason = FAIL, "step"
    ratio_x = float(rule["wrap_x"].mean() / max(rule["cols"].mean(), eps))
    ratio_y = float(rule["wrap_y"].mean() / max(rule["rows"].mean(), eps))
    strongest = float(max(rule["wrap_x"].mean() / max(rule["cols"].max(), eps),
                          rule["wrap_y"].mean() / max(rule["rows"].max(), eps)))
    reference = max(float(np.percentile(np.concatenate([stats["cols"], stats["rows"]]), 99)), eps)
    width = max(3, min(h, w) // 32)
    failing = [e for e in (across, down) if e.verdict == FAIL]
    worst = max(failing or [across, down], key=lambda e: max(e.step_ratio, default=e.full_ratio))
    score = float(max(worst.step_ratio, default=worst.full_ratio))

    def heat() -> np.ndarray:
        shown = dict(stats)
        if across.verdict != FAIL:  # draw only the edges that break
            shown["wrap_x"] = np.zeros_like(stats["wrap_x"])
        if down.verdict != FAIL:
            shown["wrap_y"] = np.zeros_like(stats["wrap_y"])
        if failing and all(e.reason == "banding" for e in failing):  # banding: the whole edge, evenly
            for key, e in (("wrap_x", across), ("wrap_y", down)):
                if e.verdict == FAIL:
                    shown[key] = np.full_like(stats[key], 2.0 * reference)
        return seam_heatmap(shown, h, w, reference, width)

    if failing:
        text = " ".join(_sentence(e) for e in failing)
    elif score > cfg.get("max_step_ratio", 1.6):
        text = (f"Seamless: the edge runs along a join the tile has inside it too "
                f"({score:.1f}× a normal step, and it continues as the tile's own joins do).")
    else:
        text = f"Seamless: the texture continues across the repeat (the step there is {score:.2f}× a normal step)."
    details = {"repeat": repeat.value, "edges": [across.as_dict(), down.as_dict()],
               "ratio_x": ratio_x, "ratio_y": ratio_y, "ratio_vs_strongest": strongest,
               "centre_band_energy_ratio": band_energy_ratio(stats),
               "reasons": sorted({e.reason for e in failing}),
               **({"step_rule_at": [len(full["wrap_y"]), len(full["wrap_x"])]} if full is not None else {})}
    return CheckResult("seam", "Seam", FAIL if failing else PASS, score, cfg.get("max_step_ratio", 1.6), text,
                       details, heat)
