import json
import platform
import subprocess
import sys

import pytest

from conftest import ROOT, subprocess_env
from desktop import __version__
from desktop.cli import main
from desktop.engine.images import read_metadata


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tessera {__version__}"
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "generate" in capsys.readouterr().out


def test_info_json_reports_true_facts(capsys, isolated_home):
    import torch

    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["tessera"] == __version__
    assert info["python"] == platform.python_version()
    assert info["library"] == str(isolated_home / "library")
    assert info["paths"]["log_file"] == str(isolated_home / "logs" / "tessera.log")
    assert info["cuda"] is torch.cuda.is_available()
    assert info["versions"]["torch"] == torch.__version__.split("+")[0]


def test_styles_json_lists_every_style_with_defaults(capsys):
    code, out, _ = run(capsys, "styles", "--json")
    styles = {s["name"]: s for s in json.loads(out)["styles"]}
    assert code == 0 and len(styles) >= 18
    plaid = {p["name"]: p for p in styles["plaid"]["params"]}
    assert plaid["sett"]["default"] == "K4 R24 K24 Y4"


def test_palettes_list_and_extract(capsys, tmp_path):
    import numpy as np
    from PIL import Image

    code, out, _ = run(capsys, "palettes", "--json")
    assert code == 0 and any(p["name"] == "art-deco" for p in json.loads(out)["palettes"])
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, :10] = (255, 0, 0)
    Image.fromarray(img).save(tmp_path / "two.png")
    code, out, _ = run(capsys, "palettes", "--from-image", str(tmp_path / "two.png"), "-k", "2", "--json")
    assert code == 0 and set(json.loads(out)["colors"]) == {"#ff0000", "#000000"}


def test_generate_writes_pngs_with_their_facts(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "generate", "--style", "plaid", "--sett", "K4 R24 K24 Y4", "--repeat",
                         "half-drop", "--size", "128x96", "--palette", "art-deco", "--seed", "5",
                         "--count", "2", "--out", str(out_dir), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert len(result["written"]) == 2
    for seed, path in zip((5, 6), result["written"]):
        meta = read_metadata(path)
        assert meta["style"] == "plaid" and meta["repeat"] == "half-drop" and meta["seed"] == seed
        assert meta["params"]["sett"] == "K4 R24 K24 Y4"
        assert meta["palette"]["name"] == "art-deco" and meta["size"] == [128, 96]
    from PIL import Image

    with Image.open(result["written"][0]) as img:
        assert img.size == (128, 96)


def test_generate_with_group_and_motif(capsys, tmp_path):
    import numpy as np
    from PIL import Image

    code, out, _ = run(capsys, "generate", "--group", "p4m", "--size", "128", "--out", str(tmp_path), "--json")
    assert code == 0 and read_metadata(json.loads(out)["written"][0])["params"]["group"] == "p4m"
    motif = np.zeros((20, 20, 4), np.uint8)
    motif[4:16, 4:16] = (0, 0, 255, 255)
    Image.fromarray(motif).save(tmp_path / "m.png")
    code, out, _ = run(capsys, "generate", "--motif", str(tmp_path / "m.png"), "--layout", "brick", "--size",
                       "128", "--out", str(tmp_path / "o"), "--json")
    meta = read_metadata(json.loads(out)["written"][0])
    assert code == 0 and meta["style"] == "motif" and meta["params"]["layout"] == "brick"


@pytest.mark.parametrize("argv,needle", [
    (["--style", "nope"], "unknown style"),
    (["--style", "stripes", "--bogus", "3"], "no option 'bogus'"),
    (["--palette", "#12345g"], "not a hex colour"),
    (["--style", "plaid", "--sett", "K4 Rx"], "not a sett entry"),
    (["--repeat", "half-drop", "--size", "128x127"], "height must be even"),
    (["--size", "9000"], "8192"),
    (["--size", "big"], "must be N or WxH"),
    (["--repeat", "diagonal"], "unknown repeat"),
    (["--count", "0"], "count must be"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(capsys, tmp_path, argv, needle):
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "generate", *argv, "--out", str(out_dir))
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out_dir.exists()


def test_a_motif_that_is_not_an_image(capsys, tmp_path):
    bad = tmp_path / "motif.png"
    bad.write_text("not an image")
    code, _, err = run(capsys, "generate", "--motif", str(bad), "--out", str(tmp_path / "out"))
    assert code == 2 and "not a readable image" in err and not (tmp_path / "out").exists()


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--count", "many"])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "desktop", "generate", "--style", "nope", "--debug",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          env=subprocess_env(TESSERA_HOME=str(tmp_path / "h")))
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_main_py_runs_the_cli(tmp_path):
    done = subprocess.run([sys.executable, "main.py", "styles", "--json"], capture_output=True, text=True,
                          cwd=ROOT, env=subprocess_env(TESSERA_HOME=str(tmp_path)))
    assert done.returncode == 0 and json.loads(done.stdout)["styles"]


def test_global_options_work_before_and_after_the_command(capsys, tmp_path, monkeypatch):
    """`tessera --library DIR --json library list` is the same as putting them after the command
    (a subcommand's parser used to write its defaults over them: the default library was used)."""
    from PIL import Image

    monkeypatch.delenv("TESSERA_LIBRARY", raising=False)
    Image.new("RGB", (16, 16), (200, 30, 40)).save(tmp_path / "red.png")
    lib = tmp_path / "lib"
    code, out, _ = run(capsys, "--library", str(lib), "--json", "library", "import", str(tmp_path / "red.png"))
    assert code == 0 and json.loads(out)["added"] == [1] and (lib / "library.db").is_file()
    for argv in (["--library", str(lib), "--json", "library", "list"], ["library", "list", "--library", str(lib), "--json"],
                 ["--json", "library", "--library", str(lib), "list"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and [p["title"] for p in json.loads(out)["patterns"]] == ["red"], argv


def test_a_diffusion_size_an_offset_repeat_cannot_keep_exact_is_refused_with_exit_2(tmp_path, capsys):
    """An SD 1.5 folder (its configs are all that is read before drawing): 576 px high is a multiple
    of 64 but not of 128, so half-drop's offset would be half a pixel at the UNet's coarsest level."""
    folder = tmp_path / "sd15"
    for part, config in (("unet", {"block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 768}),
                         ("vae", {"block_out_channels": [128, 256, 512, 512]})):
        (folder / part).mkdir(parents=True)
        (folder / part / "config.json").write_text(json.dumps(config))
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    base = ["generate", "--engine", "diffusion", "--model", str(folder), "--prompt", "linen", "--out", str(tmp_path)]
    assert main([*base, "--repeat", "half-drop", "--size", "512x576"]) == 2
    err = capsys.readouterr().err
    assert "the height must be a multiple of 128 px for this repeat (try 512 or 640)" in err
    assert "half of 576 px is 4.5 pixels" in err and len(err.strip().splitlines()) == 1
    assert main([*base, "--repeat", "half-brick", "--size", "704x512"]) == 2
    assert "the width must be a multiple of 128 px" in capsys.readouterr().err


def test_qa_takes_folders_and_says_its_errors_on_stderr(tmp_path, capsys):
    folder = tmp_path / "tiles"
    assert main(["generate", "--style", "stripes", "--size", "64", "--count", "2", "--out", str(folder / "sub")]) == 0
    (folder / "broken.png").write_text("not an image")
    (folder / ".hidden.png").write_text("left out")
    capsys.readouterr()
    assert main(["qa", str(folder)]) == 2  # a file it could not read
    out, err = capsys.readouterr()
    assert out.count(": PASS") + out.count(": FAIL") == 2 and "broken.png" not in out
    assert err.strip().splitlines() == [f"{folder / 'broken.png'}: error: broken.png: not a readable image "
                                        "(damaged, or not an image at all)"]
    (folder / "broken.png").unlink()
    assert main(["qa", str(folder), "--json"]) in (0, 1)
    assert len(json.loads(capsys.readouterr().out)["reports"]) == 2
    (tmp_path / "nothing").mkdir()
    assert main(["qa", str(tmp_path / "nothing")]) == 2 and "no images" in capsys.readouterr().err


def test_an_import_that_refused_everything_exits_1(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    (tmp_path / "bad.png").write_text("not an image")
    assert main(["--library", lib, "library", "import", str(tmp_path / "bad.png")]) == 1
    assert "quarantined 1" in capsys.readouterr().out
    assert main(["generate", "--style", "stripes", "--size", "64", "--out", str(tmp_path / "ok")]) == 0
    assert main(["--library", lib, "library", "import", str(tmp_path / "ok"), str(tmp_path / "bad.png")]) == 0
    assert main(["--library", lib, "library", "import", str(tmp_path / "ok")]) == 0  # already there: not refused
