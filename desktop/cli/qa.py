"""`tessera qa`, `tessera repair-seam`, `tessera recolor`: the QA jobs and the repairs as commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from desktop.cli.common import load_image, write_png
from desktop.errors import UserError


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from desktop.repeat import REPEATS

    qa = sub.add_parser("qa", parents=[common], help="check tiles: seam, palette, contrast, sharpness, print, repeat",
                        description="QA one or more images. Exit 0 when every check passes, 1 when any fails, "
                        "2 on bad input. Repeat and palette default to what the PNG's Tessera metadata says.")
    qa.add_argument("images", nargs="+", metavar="IMAGE")
    qa.add_argument("--repeat", help=f"one of {', '.join(REPEATS)} (default: from metadata, else basic)")
    qa.add_argument("--palette", help="brief palette: name or \"#hex,#hex\" (default: from metadata)")
    qa.add_argument("--profile", default="default", help="QA profile in resources/qa_profiles (default: default)")
    qa.add_argument("--print-size", help="target print size of one repeat, like 24x24in or 60x60cm")
    qa.add_argument("--dpi", type=int, help="print resolution (default: the profile's, 150)")
    qa.add_argument("--overlay-dir", help="write each check's overlay as a PNG here")
    qa.add_argument("--against-library", action="store_true",
                    help="also fail an image that is one of the library's designs (a copy, shifted, turned or "
                         "recoloured; its own family left out: see --library)")
    qa.add_argument("--explain", action="store_true",
                    help="for one image: print every quantity each verdict came from (the seam's joins at each "
                         "scale, its period and lighting, the other checks' measures)")

    rep = sub.add_parser("repair-seam", parents=[common], help="mend the seams of a tile")
    rep.add_argument("image", metavar="IMAGE")
    rep.add_argument("--repeat", help="repeat type (default: from metadata, else basic)")
    rep.add_argument("--out", required=True, help="output PNG")
    rep.add_argument("--flatten", action="store_true",
                     help="first even out lighting that changes across the tile (the seam check's 'light banding')")

    rec = sub.add_parser("recolor", parents=[common], help="recolour to a palette or reduce to N spot colours")
    rec.add_argument("image", metavar="IMAGE")
    rec.add_argument("--palette", help="palette to map onto (name or \"#hex,#hex\")")
    rec.add_argument("--colors", type=int, help="reduce to this many spot colours of the image's own")
    rec.add_argument("--dither", action="store_true", help="ordered dithering (seamless when the size allows)")
    rec.add_argument("--separations", metavar="DIR", help="write one mask per colour here")
    rec.add_argument("--out", required=True, help="output PNG")


def cmd_qa(args: argparse.Namespace, emit) -> int:
    from desktop.engine.qa import load_profile
    from desktop.engine.qa.printing import parse_print_size
    from desktop.palettes import parse_palette
    from desktop.repeat import parse_repeat

    overrides: dict[str, Any] = {"print": {}}
    size = parse_print_size(args.print_size)
    if size:
        overrides["print"]["print_size_in"] = list(size)
    if args.dpi is not None:
        if not 10 <= args.dpi <= 2400:
            raise UserError(f"--dpi must be between 10 and 2400, not {args.dpi}")
        overrides["print"]["dpi"] = args.dpi
    load_profile(args.profile)  # an unknown profile is reported before any image is read
    if getattr(args, "explain", False) and (len(args.images) != 1 or Path(args.images[0]).is_dir()):
        raise UserError("--explain explains one image: name one file")
    palette_arg = parse_palette(args.palette) if args.palette else None
    repeat_arg = parse_repeat(args.repeat) if args.repeat else None
    out_dir = Path(args.overlay_dir) if args.overlay_dir else None
    library = None
    if args.against_library:
        from desktop.cli.common import library_root
        from desktop.library import Library

        library = Library(library_root(args))  # a locked library is reported before any image is read
    try:
        return _qa_each(args, emit, library, overrides, palette_arg, repeat_arg, out_dir)
    finally:
        if library is not None:
            library.close()



def _qa_each(args, emit, library, overrides, palette_arg, repeat_arg, out_dir) -> int:
    from desktop.engine.images import IMAGE_SUFFIXES, images_under
    from desktop.engine.procedural import palette_unused
    from desktop.engine.qa import judged_copy, run_qa
    from desktop.engine.qa.overlay import overlay_on
    from desktop.engine.qa.seam import edge_stats
    from desktop.palettes import parse_palette
    from desktop.repeat import check_size, parse_repeat

    reports, errors, lines = [], [], []
    paths = images_under(args.images)  # a folder is the images in it, as `library import` takes it
    if not paths:
        raise UserError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {', '.join(args.images)}")
    for path in paths:
        try:
            image, info, meta = load_image(path, to_judge=True)
            repeat = repeat_arg or parse_repeat(meta.get("repeat", "basic"))
            check_size(repeat, image.shape[1], image.shape[0], most=None)  # (a scan may be larger than a tile)
            reduced = judged_copy(image, repeat)  # a large scan: QA reads a reduced copy; the full one goes,
            # but for the pixels either side of each wrap, which the seams' step rule reads at full resolution
            full_edges = edge_stats(image, repeat) if reduced is not image else None
            image = reduced
            del reduced
            palette, checks = palette_arg, overrides
            if palette is None and meta.get("palette", {}).get("colors"):
                palette = parse_palette(",".join(meta["palette"]["colors"]))
                unused = palette_unused(str(meta.get("style", "")), meta.get("params"))
                if unused:  # a tile made to keep its image's colours: the palette check cannot apply
                    checks = {**overrides, "palette": {**overrides.get("palette", {}), "skip_reason": unused}}
            similar = None
            if library is not None:
                from desktop.library.catalogue import sha256_bytes
                from desktop.library.search import LibrarySimilarity

                stored = library.pattern_with(sha256_bytes(Path(path).read_bytes()))  # the image itself, if stored
                similar = LibrarySimilarity(library, stored, meta.get("parents", []))
            report = run_qa(image, repeat.value, palette, args.profile, checks, info, source=path,
                            provider=similar, full_edges=full_edges)
        except UserError as exc:
            errors.append({"image": path, "error": str(exc)})
            if not getattr(args, "json", False):
                print(f"{path}: error: {exc}", file=sys.stderr)  # error lines go to stderr, the report to stdout
            continue
        entry = report.as_dict()
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            entry["overlays"] = {name: write_png(out_dir / f"{Path(path).stem}-{name}.png", overlay_on(image, heat))
                                 for name, heat in report.overlays().items()}
        reports.append(entry)
        lines.append(f"{path}: {'PASS' if report.passed else 'FAIL'}")
        lines += [f"  {c.status:4s}  {c.label:18s} {c.explanation}" for c in report.checks]
        if getattr(args, "explain", False):
            lines += explain_lines(report)
    emit({"reports": reports, "errors": errors, "passed": not errors and all(r["passed"] for r in reports)},
         "\n".join(lines))
    if errors:
        return 2
    return 0 if all(r["passed"] for r in reports) else 1



def explain_lines(report) -> list[str]:
    """Every quantity behind each verdict, one per line (`qa --explain`)."""
    lines = []
    for check in report.checks:
        lines.append(f"  {check.name}: {check.status}, score {_number(check.score)} against {_number(check.threshold)}")
        lines += [f"    {key}: {value}" for key, value in _flat(check.details)]
    return lines



def _flat(value, prefix: str = ""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flat(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        for item in value:
            yield from _flat(item, f"{prefix}[{item.get('edge', value.index(item))}]")
    elif isinstance(value, (list, tuple)):
        yield prefix, "[" + ", ".join(_number(v) for v in value) + "]"
    else:
        yield prefix, _number(value)



def _number(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)



def cmd_repair_seam(args: argparse.Namespace, emit) -> int:
    from desktop.engine.qa import run_qa
    from desktop.engine.qa.repair import flatten_lighting, repair_seam
    from desktop.repeat import check_size, parse_repeat

    image, _, meta = load_image(args.image)
    repeat = parse_repeat(args.repeat or meta.get("repeat", "basic"))
    check_size(repeat, image.shape[1], image.shape[0])
    before = run_qa(image, repeat.value, profile="default").check("seam")
    banded = "banding" in before.details.get("reasons", [])
    fixed = flatten_lighting(image, repeat) if args.flatten else image
    fixed = repair_seam(fixed, repeat)
    after = run_qa(fixed, repeat.value, profile="default").check("seam")
    repaired = "lighting, seam" if args.flatten else "seam"
    out = write_png(Path(args.out), fixed, dict(meta, repeat=repeat.value, repaired=repaired, repaired_from=args.image))
    text = f"wrote {out}\n  seam before: {before.explanation}\n  seam after:  {after.explanation}"
    if banded and not args.flatten:
        text += "\n  the lighting bands where the tiles meet: run again with --flatten to even it out"
    emit({"written": out, "repeat": repeat.value, "flattened": bool(args.flatten), "banding_before": banded,
          "seam_before": before.as_dict(), "seam_after": after.as_dict()}, text)
    return 0



def cmd_recolor(args: argparse.Namespace, emit) -> int:
    from desktop.engine.qa.repair import recolour, reduce_colours, separations
    from desktop.palettes import parse_palette

    if bool(args.palette) == bool(args.colors):
        raise UserError("give either --palette (map onto it) or --colors N (reduce to N spot colours)")
    image, _, meta = load_image(args.image)
    result = reduce_colours(image, args.colors, args.dither) if args.colors else \
        recolour(image, parse_palette(args.palette), args.dither)
    out = write_png(Path(args.out), result.image,
                     dict(meta, palette=result.palette.as_dict(), recoloured_from=args.image))
    written_seps = []
    if args.separations:
        folder = Path(args.separations)
        folder.mkdir(parents=True, exist_ok=True)
        for name, mask in separations(result):
            written_seps.append(write_png(folder / f"{name}.png", np.repeat(mask[..., None], 3, axis=2)))
    counts = np.bincount(result.labels.ravel(), minlength=len(result.palette.colors)) / result.labels.size
    emit({"written": out, "palette": result.palette.hex, "coverage": [round(float(c), 4) for c in counts],
          "dithered": result.dithered, "separations": written_seps},
         f"wrote {out} ({', '.join(f'{h} {c:.0%}' for h, c in zip(result.palette.hex, counts))})"
         + (f"\n  {len(written_seps)} separations in {args.separations}" if written_seps else "")
         + ("" if result.dithered or not args.dither else "\n  note: no dither (tile size not a multiple of 2)"))
    return 0


COMMANDS = {"qa": cmd_qa, "repair-seam": cmd_repair_seam, "recolor": cmd_recolor}
