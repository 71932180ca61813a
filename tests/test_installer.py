"""installers/install.sh and uninstall.sh, offline: a stand-in `uv` records what it is asked to install.

No test downloads anything, so the stand-in does what uv would without the network: `uv venv` makes an
environment whose Python is this test's own (which has Tessera and its libraries), `uv pip install`
writes down its arguments. Everything else is the real script: the Python it finds, the source it
copies, the PyTorch build and index it picks for this machine, the commands, the menu entry, the
manifest, an update in place and an uninstall that removes exactly what was made. The same scripts
were run for real, with uv and PyPI, on this machine: tests/soak/README.md.
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "installers" / "install.sh"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("bash") is None,
                                reason="the Linux installer is a bash script")

FAKE_UV = """#!/bin/sh
# a stand-in for uv: what it was asked, one line a call; venvs point at the test's own Python
echo "$*" >> "{log}"
if [ "$1" = venv ]; then
  for last in "$@"; do :; done
  mkdir -p "$last/bin"
  ln -sf "{python}" "$last/bin/python"
  printf '#!/bin/sh\\nexec "{python}" -m desktop "$@"\\n' > "$last/bin/tessera"
  printf '#!/bin/sh\\nexec "{python}" -c "import desktop; print(desktop.__version__)"\\n' > "$last/bin/tessera-studio"
  chmod +x "$last/bin/tessera" "$last/bin/tessera-studio"
fi
exit 0
"""


def _setup(tmp_path):
    home, bin_dir = tmp_path / "home", tmp_path / "fakebin"
    home.mkdir()
    bin_dir.mkdir()
    log = tmp_path / "uv-calls.txt"
    uv = bin_dir / "uv"
    uv.write_text(FAKE_UV.format(log=log, python=sys.executable))
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "TESSERA_HOME": str(tmp_path / "data"),
           "LANG": "C.UTF-8"}
    return home, log, env


def _install(env, prefix, *more):
    return subprocess.run(["bash", str(INSTALL), "--prefix", str(prefix), "--python", sys.executable, *more],
                          env=env, capture_output=True, text=True, timeout=300)


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_install_update_and_uninstall_touch_exactly_what_they_made(tmp_path):
    home, log, env = _setup(tmp_path)
    (home / ".local" / "share").mkdir(parents=True)  # a desktop's own folder, there before and after
    before = _tree(home)
    prefix = tmp_path / "app"
    run = _install(env, prefix)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "done: tessera " in run.stdout

    calls = log.read_text().splitlines()
    assert calls[0].startswith("venv ") and calls[0].endswith(str(prefix / "venv"))
    torch_call = next(c for c in calls if c.startswith("pip install") and "torch==" in c)
    if shutil.which("nvidia-smi") is None:  # as on CI: the CPU build, from PyTorch's CPU index
        assert "--extra-index-url https://download.pytorch.org/whl/cpu" in torch_call
    assert "torch==2.14.1" in torch_call and "torchvision==0.29.1" in torch_call
    assert any(c.startswith("pip install") and c.endswith(f"-e {prefix / 'src'}") for c in calls)

    # the source, as a release has it; the commands; the menu entry; what was made outside PREFIX, listed
    assert (prefix / "src" / "desktop" / "doctor.py").is_file() and not (prefix / "src" / ".git").exists()
    version = subprocess.run([str(prefix / "bin" / "tessera"), "--version"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("tessera ")
    entry = home / ".local" / "share" / "applications" / "tessera.desktop"
    text = entry.read_text()
    assert f'Exec="{prefix}/bin/tessera-studio"' in text and f"X-Tessera-Prefix={prefix}" in text
    assert (prefix / "src" / "installers" / "tessera.svg").is_file() and "tessera.svg" in text
    assert os.readlink(home / ".local" / "bin" / "tessera") == str(prefix / "bin" / "tessera")
    manifest = (prefix / "manifest.txt").read_text().splitlines()
    assert str(entry) in manifest and f"dir:{home / '.local' / 'bin'}" in manifest
    assert "torch=" in (prefix / "install.conf").read_text()

    # the update: the same prefix again, from where it came; a file of the user's beside it is not ours
    (home / ".local" / "bin" / "mine").write_text("#!/bin/sh\n")
    update = subprocess.run([str(prefix / "bin" / "tessera-update")], env=env, capture_output=True, text=True,
                            timeout=300)
    assert update.returncode == 0, update.stdout + update.stderr
    assert sum(c.startswith("venv ") for c in log.read_text().splitlines()) == 1  # the environment was kept

    # someone else's file now where ours was: the uninstall leaves it
    os.remove(home / ".local" / "bin" / "tessera-studio")
    (home / ".local" / "bin" / "tessera-studio").write_text("#!/bin/sh\necho someone else's\n")
    gone = subprocess.run([str(prefix / "bin" / "tessera-uninstall"), "--yes"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "left " in gone.stdout and "tessera-studio (not ours any more)" in gone.stdout
    assert not prefix.exists()
    assert _tree(home) - before == {".local/bin", ".local/bin/mine", ".local/bin/tessera-studio"}


def test_the_uninstall_asks_first_and_a_no_removes_nothing(tmp_path):
    home, _, env = _setup(tmp_path)
    prefix = tmp_path / "app"
    assert _install(env, prefix).returncode == 0
    kept = subprocess.run([str(prefix / "bin" / "tessera-uninstall")], env=env, input="n\n", capture_output=True,
                          text=True, timeout=60)
    assert kept.returncode == 0 and "nothing removed" in kept.stdout
    assert (prefix / "bin" / "tessera").is_file() and (home / ".local" / "share" / "applications").is_dir()


def test_the_installer_says_what_is_wrong_in_one_line(tmp_path):
    _, _, env = _setup(tmp_path)
    (tmp_path / "not-tessera").mkdir()
    wrong = _install(env, tmp_path / "app", "--source", str(tmp_path / "not-tessera"))
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == f"tessera-install: {tmp_path / 'not-tessera'} is not Tessera's source (no pyproject.toml there)"
    unknown = _install(env, tmp_path / "app", "--frobnicate")
    assert unknown.returncode == 1 and "unknown option --frobnicate" in unknown.stderr
    old_python = tmp_path / "python2"
    old_python.write_text("#!/bin/sh\nexit 1\n")
    old_python.chmod(0o755)
    too_old = subprocess.run(["bash", str(INSTALL), "--prefix", str(tmp_path / "app"), "--python", str(old_python)],
                             env=env, capture_output=True, text=True, timeout=60)
    assert too_old.returncode == 1 and "is not Python 3.11 or newer" in too_old.stderr
    helped = subprocess.run(["bash", str(INSTALL), "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "tessera-update" in helped.stdout
