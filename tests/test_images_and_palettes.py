import numpy as np
import pytest
from PIL import Image

from desktop.engine.images import ImageReadError, load_rgb, read_metadata, save_png
from desktop.errors import UserError
from desktop.palettes import extract_palette, load_named, palette_names, parse_hex, parse_palette


def test_hex_parsing():
    assert parse_hex("#fff") == (255, 255, 255)
    assert parse_hex("1b2a49") == (0x1B, 0x2A, 0x49)
    for bad in ("#12345g", "red", "#12"):
        with pytest.raises(UserError):
            parse_hex(bad)


def test_named_and_string_palettes():
    assert len(palette_names()) >= 5
    assert load_named("art-deco").hex[0] == "#111111"
    assert parse_palette("#000, #ffffff").hex == ["#000000", "#ffffff"]
    with pytest.raises(UserError, match="unknown palette"):
        parse_palette("no-such-palette")


def test_extraction_finds_colours_and_their_shares():
    img = np.zeros((100, 100, 3), np.uint8)
    img[:, :70] = (200, 30, 40)
    img[:, 70:90] = (20, 60, 180)
    img[:, 90:] = (240, 240, 230)
    pal = extract_palette(img, k=3)
    assert pal.hex[0] == "#c81e28"
    assert np.allclose(pal.weights, [0.7, 0.2, 0.1], atol=0.02)
    found = {tuple(c) for c in pal.colors}
    assert (20, 60, 180) in found and (240, 240, 230) in found


def test_flat_artwork_gives_as_many_colours_as_it_has():
    """Two colours over 512 x 512 pixels (a sample far over 4,096): two colours, not two and three
    copies of one with shares near nothing."""
    img = np.zeros((512, 512, 3), np.uint8)
    img[::2] = 255
    pal = extract_palette(img, k=5)
    assert sorted(pal.hex) == ["#000000", "#ffffff"] and np.allclose(pal.weights, [0.5, 0.5], atol=0.01)


def test_extraction_from_a_real_texture(shared_textures):
    path = next((shared_textures / "seamless").glob("*.jpg"))
    pal = extract_palette(load_rgb(path), k=5)
    assert len(pal.colors) == 5 and abs(sum(pal.weights) - 1) < 1e-6
    assert list(pal.weights) == sorted(pal.weights, reverse=True)


def test_corrupt_and_missing_images_get_clear_errors(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageReadError, match=r"bad\.png"):
        load_rgb(bad)
    with pytest.raises(ImageReadError, match="no such file"):
        load_rgb(tmp_path / "missing.png")


def test_decompression_bombs_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("L", (400, 400)).save(path)
    monkeypatch.setattr("desktop.engine.images.MAX_PIXELS", 100 * 100)
    with pytest.raises(ImageReadError, match="too many pixels"):
        load_rgb(path)


def test_unsupported_formats_are_refused(tmp_path):
    path = tmp_path / "a.gif"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(ImageReadError, match="not supported"):
        load_rgb(path)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 on display
    path = tmp_path / "o.jpg"
    img.save(path, exif=exif)
    assert load_rgb(path).shape[:2] == (40, 20)


def test_png_metadata_round_trip(tmp_path):
    path = save_png(tmp_path / "t.png", np.zeros((4, 4, 3), np.float32), {"style": "plaid", "seed": 7})
    assert read_metadata(path) == {"style": "plaid", "seed": 7}
    assert list(tmp_path.iterdir()) == [path]


def test_saved_palettes_are_listed_loaded_and_deleted(capsys):
    import json

    from desktop.cli import main
    from desktop.palettes import load_named, palette_names, user_palette_dir

    assert main(["palettes", "--colors", "#112233, #aabbcc, #ffeedd", "--save", "Client A / Spring"]) == 0
    assert "client-a-spring" in palette_names()
    assert load_named("client-a-spring").hex == ["#112233", "#aabbcc", "#ffeedd"]
    capsys.readouterr()
    assert main(["palettes", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)["palettes"]}
    assert listed["client-a-spring"]["saved"] and not listed["art-deco"]["saved"]
    assert main(["generate", "--palette", "client-a-spring", "--size", "32", "--out", str(user_palette_dir().parent / "t")]) == 0
    (user_palette_dir() / "broken.json").write_text("{not json")
    assert main(["generate", "--palette", "broken", "--size", "32", "--out", "x"]) == 2
    assert "damaged" in capsys.readouterr().err
    assert main(["palettes", "--delete", "client-a-spring"]) == 0
    assert "client-a-spring" not in palette_names()
    assert main(["palettes", "--delete", "art-deco"]) == 2
    assert main(["palettes", "--save", "x"]) == 2


def _png_kinds(tmp_path):
    """PNGs of every kind an import meets: the plain ones OpenCV decodes, and those Pillow must."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (37, 53, 3), np.uint8)
    kinds = {
        "rgb": Image.fromarray(rgb),
        "rgba": Image.fromarray(np.dstack([rgb, rng.integers(0, 256, (37, 53), np.uint8)])),
        "grey": Image.fromarray(rgb[..., 0]),
        "palette": Image.fromarray(rgb).quantize(16),
        "grey16": Image.fromarray(rgb[..., 0].astype(np.uint16) * 257),
    }
    paths = {}
    for name, img in kinds.items():
        paths[name] = tmp_path / f"{name}.png"
        img.save(paths[name])
    from PIL import ImageCms
    paths["profiled"] = tmp_path / "profiled.png"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    kinds["rgb"].save(paths["profiled"], icc_profile=srgb)
    return paths


def test_decode_from_bytes_matches_the_file_reader(tmp_path, shared_textures):
    from desktop.engine.images import _plain_png, decode_rgb, load_rgb

    paths = _png_kinds(tmp_path)
    assert {n for n, p in paths.items() if _plain_png(p.read_bytes())} == {"rgb", "rgba", "grey"}
    real = sorted((shared_textures / "seamless").glob("*"))[:6] + sorted((shared_textures / "photos").glob("*"))[:3]
    for path in [*paths.values(), *real]:
        pixels, width, height = decode_rgb(path.read_bytes(), path.name)
        expected = load_rgb(path)
        assert pixels.dtype == np.uint8 and pixels.shape == expected.shape == (height, width, 3), path.name
        assert np.array_equal(pixels, expected), path.name


def test_decode_from_bytes_refuses_bad_data_clearly(tmp_path, monkeypatch):
    from desktop.engine.images import decode_rgb

    def _write(path, data):
        path.write_bytes(data)
        return path

    good = _png_kinds(tmp_path)["rgb"].read_bytes()
    with pytest.raises(ImageReadError, match=r"cut\.png"):  # cut in the pixels
        decode_rgb(good[:len(good) // 2], "cut.png")
    for cut in (len(good) - 20, len(good) - 5):  # pixels whole, the end cut: Pillow's verdict, kept
        expected = load_rgb(_write(tmp_path / "end.png", good[:cut]))
        assert np.array_equal(decode_rgb(good[:cut], "end.png")[0], expected)
    flipped = bytearray(good)
    flipped[60] ^= 0xFF  # a damaged byte in the compressed pixels
    with pytest.raises(ImageReadError, match=r"flipped\.png"):
        decode_rgb(bytes(flipped), "flipped.png")
    monkeypatch.setattr("desktop.engine.images.MAX_PIXELS", 100)
    with pytest.raises(ImageReadError, match="too many pixels"):
        decode_rgb(good, "big.png")
