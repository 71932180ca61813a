"""Hostile files: bounded memory and one clear sentence, never a half-imported library (#32)."""

import struct
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from desktop.engine.images import png_bytes
from desktop.library import Library
from desktop.library.metadata_chunks import MAX_TEXT_CHUNK, OversizedText, png_text

BOMB = 300 << 20  # what one chunk inflates to


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _zeros_deflated(n: int) -> bytes:
    """n zero bytes deflated, made a MiB at a time (the test never holds them all)."""
    packer, block, out = zlib.compressobj(9), bytes(1 << 20), []
    for _ in range(n >> 20):
        out.append(packer.compress(block))
    out.append(packer.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    """A real 32x32 PNG with three zTXt chunks of 300 MiB each (about 300 KB apiece on disk): one before
    the pixels, two after them."""
    png = png_bytes(np.full((32, 32, 3), 128, np.uint8), {"style": "stripes"})
    deflated = _zeros_deflated(BOMB)
    bomb = [_chunk(b"zTXt", f"Comment{k}".encode() + b"\0\0" + deflated) for k in range(3)]
    idat = png.index(b"IDAT") - 4
    iend = png.index(b"IEND") - 4
    return png[:idat] + bomb[0] + png[idat:iend] + bomb[1] + bomb[2] + png[iend:]


def test_a_text_chunk_bomb_is_refused_with_its_reason_in_bounded_memory(tmp_path, bomb_png):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bomb.png").write_bytes(bomb_png)
    assert len(bomb_png) < 3 << 20
    with Library(tmp_path / "lib") as lib:
        tracemalloc.start()
        try:
            changes = lib.import_paths([tmp_path / "in"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert changes.added == [] and len(changes.quarantined) == 1
        assert "text chunk 'Comment0' inflates past 1 MiB" in changes.quarantined[0]["reason"]
        assert peak < 512 << 20, peak / 2**20  # the goal; it inflated 900 MiB before
        assert peak < 64 << 20  # and in fact a few MiB: each chunk stops one byte past its limit
        assert lib.count() == 0


def test_text_within_the_limits_is_read_and_past_them_is_named():
    png = png_bytes(np.zeros((8, 8, 3), np.uint8), {"style": "stripes"})
    iend = png.index(b"IEND") - 4
    fine = zlib.compress(b"x" * (MAX_TEXT_CHUNK - 10))
    ok = png[:iend] + _chunk(b"zTXt", b"note\0\0" + fine) + png[iend:]
    assert len(png_text(ok)["note"]) == MAX_TEXT_CHUNK - 10
    over = zlib.compress(b"x" * (MAX_TEXT_CHUNK + 1))
    itxt = png[:iend] + _chunk(b"iTXt", b"big\0\1\0\0\0" + over) + png[iend:]
    with pytest.raises(OversizedText, match="'big' inflates past 1 MiB"):
        png_text(itxt)


def test_check_finds_a_stored_file_the_app_cannot_open_again(tmp_path, bomb_png):
    with Library(tmp_path / "lib") as lib:
        changes = lib.add_tile(np.full((16, 16, 3), 90, np.uint8), {"style": "stripes", "repeat": "basic"})
        pid = changes.pattern_id
        (path,) = list(lib.files.rglob("*.png"))
        path.write_bytes(bomb_png)  # what an older version let in
        result = lib.check()
        assert not result["ok"] and [u["id"] for u in result["unreadable_files"]] == [pid]
        assert "inflates past 1 MiB" in result["unreadable_files"][0]["reason"]


def test_links_out_of_the_folder_hidden_files_and_quarantine_names(tmp_path):
    """A link named tile.png to a file outside the folder is not followed (nothing of it reaches the
    quarantine); hidden files are counted as ignored, with why; two refused files of one name both stay."""
    import os

    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    folder = tmp_path / "in"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    os.symlink(secret, folder / "tile.png")
    (folder / ".hidden.png").write_bytes(png_bytes(np.zeros((8, 8, 3), np.uint8), {}))
    (folder / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # an image's start, damaged
    (folder / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\1" * 40)
    (folder / "b" / "notes.png").write_text("not an image at all")
    with Library(tmp_path / "lib") as lib:
        changes = lib.import_paths([folder])
        ignored = {Path(i["source"]).name: i["reason"] for i in changes.ignored}
        assert "outside the folder imported (not followed)" in ignored["tile.png"]
        assert "hidden" in ignored[".hidden.png"]
        assert sorted(Path(q["source"]).name for q in changes.quarantined) == ["broken.png", "broken.png", "notes.png"]
        kept = sorted(p.name for p in lib.quarantine.iterdir())
        assert kept == ["broken-2.png", "broken-2.png.reason.txt", "broken.png", "broken.png.reason.txt",
                        "notes.png.reason.txt"]  # the text file left its reason only
        assert not any("root:x" in p.read_text(errors="replace") for p in lib.quarantine.iterdir())
        # named on its own, a link is what the user chose: read, and refused as the text it is
        named = lib.import_paths([folder / "tile.png"])
        assert len(named.quarantined) == 1 and not (lib.quarantine / "tile.png").exists()


def test_scripts_read_and_write_the_library_beside_the_open_window(tmp_path, capsys, monkeypatch):
    """The window holds the library's window lock; a script runs beside it: reads (list, show,
    search) and writes (set) through SQLite's own locking. Where the library cannot be shared (a
    schema to upgrade), a reading command opens it read-only and says so."""
    import json

    from desktop.cli import main
    from desktop.library import LibraryLocked, catalogue

    root = tmp_path / "lib"
    with Library(root, window=True) as window:  # what the window holds while it is open
        pid = window.add_tile(np.full((16, 16, 3), 70, np.uint8), {"style": "stripes", "repeat": "basic"}).pattern_id
        assert main(["--library", str(root), "--json", "library", "list"]) == 0
        captured = capsys.readouterr()
        assert [p["id"] for p in json.loads(captured.out)["patterns"]] == [pid]
        assert main(["--library", str(root), "--json", "library", "show", str(pid)]) == 0
        assert json.loads(capsys.readouterr().out)["id"] == pid
        assert main(["--library", str(root), "library", "search", "--image", str(next(window.files.rglob("*.png")))]) == 0
        capsys.readouterr()
        window.settle()
        assert main(["--library", str(root), "library", "set", str(pid), "--rating", "3"]) == 0
        assert window.get(pid)["rating"] == 3 and window.outside_changes()
        # a read-only library cannot write, whatever is asked of it
        with Library(root, read_only=True) as reader, pytest.raises(Exception, match=r"readonly database"):
            reader.update(pid, rating=5)
        assert window.get(pid)["rating"] == 3

        def cannot_share(*args, **kwargs):
            raise LibraryLocked("the library needs its database upgraded, and another process has it open")

        real = catalogue.Library
        monkeypatch.setattr(catalogue, "Library",
                            lambda root, read_only=False: real(root, read_only=True) if read_only else cannot_share())
        assert main(["--library", str(root), "--json", "library", "list"]) == 0
        assert "reading it only" in capsys.readouterr().err
        assert main(["--library", str(root), "library", "set", str(pid), "--rating", "1"]) == 2
        assert "needs its database upgraded" in capsys.readouterr().err


def test_qa_refuses_a_pixel_bomb_from_its_header_before_decoding(tmp_path, capsys):
    """A 275 KB PNG of 16000x16000 once cost QA 2.7 GB before it was refused; the header says enough,
    by the rule the importer keeps too (images.MAX_PIXELS)."""
    from PIL import Image

    from desktop.cli import main

    big = tmp_path / "big.png"
    Image.new("L", (16000, 16000)).save(big, optimize=False)
    assert big.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        code = main(["qa", str(big)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 2 and "16000x16000: too many pixels to open safely" in capsys.readouterr().err
    assert peak < 64 << 20


# found by tests/soak/fuzz_images.py: a 573-byte TIFF whose header claims 17 gigapixels
FUZZED_TIFF = "SUkqAAgAAAAKAAABBAABAAAAFwAAPQEBBAABAAAAEQAAAAIBAwADAAAAhgAAAAMBAwABAAAAAQAAAAYBAwABAAAAAgAAABEBBAABAAAAjAAAABUBAwABAAAAAwAAABYBBAABAAAAEQAAABcBBAABAAAAlQQAABwBAwABAAAAAgAAAAAAAAAIAAgACACiRAoEz+iauoru0ADaCLos3IpMawcfq6WcYf76rqWvYyK3hU974u5bkVKXVmPjOZ4V1Mg93w5VJnLLOg1nMheTTKsy8F0aoOxw839snv3xdcF+hshpu7XtHbns9gPc+vQl+OLRejvM60OJcO0KupwHtwTBguwQ1hFXbfaPQj3iOR9JlY3Ojklp0J/0XoyX2CVn6ArRadMCXRSmRbPwINwPYW18+MVORNzgglf9UC7gz6r07L7bPySqtipk6I+TMYaFFvqRAcX5llEvqzGTmfUSf70tYhC5FmTeeOjD6SASEd2hfimrUbV1gckXkzLOfPwu9cxKyUYSrsujV44Fj9oTYSpgA9N+b5nYSkQMQxAKjC4S6SUY96q5jxHWamQiHIWRhJzfgGBBTo/KcAovF1WulqhzG0uCfj7SbtdD8BzEBTzdWe3tzGXadCDZ0CLchL1ENdiZJV3bd1VW0nPxT8BIwwQhQt1SexuQGCTMPg+ZJQ3TZdy9MxUrflvUd41iwK+uxGUe0Fiw/LLnA5kY3vQIIdSv+sCXifgCx2Ebi16aBCqJmxSi1kmE57M09lfSc8nq"


def test_a_tiff_claiming_gigapixels_has_no_metadata_and_one_clear_error(tmp_path):
    """The fuzz harness's first finding: reading the metadata of a non-PNG raised Pillow's
    DecompressionBombError (an import would have stopped on it); now there is no metadata to read,
    and opening the image says why in one sentence."""
    import base64

    from desktop.engine.images import ImageReadError, decode_rgb, read_metadata
    from desktop.library.metadata_chunks import read_chunks

    data = base64.b64decode(FUZZED_TIFF)
    assert data.startswith(b"II*\x00")
    assert read_chunks(None, data) == {}
    path = tmp_path / "claims.tif"
    path.write_bytes(data)
    assert read_metadata(path) == {}
    with pytest.raises(ImageReadError, match="too many pixels"):
        decode_rgb(data, "claims.tif")
    with Library(tmp_path / "lib") as lib:  # an import quarantines it, with the reason, and goes on
        changes = lib.import_paths([path])
    assert changes.added == [] and "too many pixels" in changes.quarantined[0]["reason"]


# this process's peak resident memory: VmHWM belongs to its own memory map (ru_maxrss outlives an
# exec, so a child would report at least its parent's peak)
_PEAK = """
def _peak_kib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
"""

_IMPORT_PEAK = _PEAK + """
import sys
from pathlib import Path
from desktop.library import Library, search
with Library(Path(sys.argv[1])) as lib:
    changes = search.import_into(lib, [Path(p) for p in sys.argv[2:]])
assert len(changes.added) == len(sys.argv) - 2, changes.as_dict()
print(_peak_kib())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="VmHWM is Linux's")
def test_large_scans_are_imported_one_at_a_time_so_four_cost_what_one_does(tmp_path):
    """Four 64-megapixel scans (a 600 DPI textile scan is bigger still) were decoded side by side and
    held until their batch was stored: four cost four times one. Read ahead by their headers within a
    pixel budget, and their pixels not kept once the small copy is made, four cost what one does."""
    import subprocess

    from PIL import Image

    from conftest import ROOT, subprocess_env

    scans = []
    for k, colour in enumerate([(200, 180, 150), (90, 60, 40), (30, 90, 140), (150, 40, 60)]):
        scans.append(tmp_path / f"scan-{k}.png")
        Image.new("RGB", (8000, 8000), colour).save(scans[-1], compress_level=1)

    def peak_mib(files, name) -> float:
        done = subprocess.run([sys.executable, "-c", _IMPORT_PEAK, str(tmp_path / name), *map(str, files)],
                              capture_output=True, text=True, cwd=ROOT, env=subprocess_env(), timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return int(done.stdout.split()[-1]) / 1024

    one, four = peak_mib(scans[:1], "one"), peak_mib(scans, "four")
    assert four < one + 128, (one, four)  # before: about one + 3 x 183 MiB


def test_a1111_parameters_with_odd_digits_are_read_as_far_as_they_go():
    """The fuzz harness's second finding: 'Size: ³512x512' passed str.isdigit and broke int()."""
    from desktop.library.metadata_chunks import parse_a1111

    odd = parse_a1111("linen\nSteps: ⁵, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: ³512x512")
    assert odd["size"] is None and "steps" not in odd and odd["seed"] == 5 and odd["scheduler"] == "euler-a"
    assert parse_a1111("x\nSteps: 20, Size: 768x512")["size"] == [768, 512]


_THUMB_PEAK = _PEAK + """
import sys
from pathlib import Path
from desktop.library import Library
with Library(Path(sys.argv[1])) as lib:
    lib.thumbnail({"sha256": "0" * 64, "file": sys.argv[2]}, side=256)
print(_peak_kib())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="VmHWM is Linux's")
def test_a_scans_thumbnail_is_made_without_a_full_size_copy(tmp_path):
    """A 64 MP scan's grid thumbnail cost 560 MiB (decoded, then converted at full size); a JPEG is
    now decoded at an eighth of its size, and other images are reduced before they are converted."""
    import subprocess

    from PIL import Image

    from conftest import ROOT, subprocess_env

    rng = np.random.default_rng(2)
    scan = tmp_path / "scan.jpg"
    Image.fromarray((rng.random((80, 80, 3)) * 255).astype(np.uint8)).resize((8000, 8000)).save(scan, quality=85)
    done = subprocess.run([sys.executable, "-c", _THUMB_PEAK, str(tmp_path / "lib"), str(scan)],
                          capture_output=True, text=True, cwd=ROOT, env=subprocess_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) / 1024 < 200  # MiB; 183 MiB would be the decoded pixels alone
    with Image.open(tmp_path / "lib" / "thumbs" / f"{'0' * 64}-256.png") as thumb:
        assert thumb.size == (256, 256) and thumb.mode == "RGB"


def test_a_tiff_with_absurd_samples_per_pixel_is_one_sentence_and_nothing_on_stderr(tmp_path, capfd):
    """The fuzz run's last stray line: Pillow logs "More samples per pixel than can be decoded" at
    ERROR before it refuses such a TIFF, and with no logging set up that reached stderr."""
    import subprocess

    from PIL import Image

    from conftest import ROOT, subprocess_env

    good = tmp_path / "good.tif"
    Image.new("RGB", (4, 4), (10, 20, 30)).save(good)
    data = bytearray(good.read_bytes())
    assert data[:4] == b"II*\x00"
    ifd = struct.unpack_from("<I", data, 4)[0]
    for k in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * k
        if struct.unpack_from("<H", data, entry)[0] == 277:  # SamplesPerPixel, a SHORT held in the entry
            struct.pack_into("<HHIH", data, entry, 277, 3, 1, 60000)
            break
    else:
        raise AssertionError("no SamplesPerPixel tag")
    bad = tmp_path / "bad.tif"
    bad.write_bytes(bytes(data))
    # in a fresh process with no logging set up, as the render process and scripts are
    script = ("import sys\nfrom desktop.engine.images import ImageReadError, load_rgb\n"
              "try:\n    load_rgb(sys.argv[1])\nexcept ImageReadError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", script, str(bad)], capture_output=True, text=True, cwd=ROOT,
                          env=subprocess_env(), timeout=120)
    assert done.returncode == 0 and "bad.tif" in done.stdout, (done.stdout, done.stderr)
    assert done.stderr == "", done.stderr
    assert len(done.stdout.strip().splitlines()) == 1
