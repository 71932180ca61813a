"""`tessera doctor`, Help ▸ Diagnostics, and the choice of PyTorch build (desktop/doctor.py, desktop/torch_build.py)."""

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from desktop import doctor
from desktop.doctor import FAIL, INFO, OK, WARN
from desktop.torch_build import INDEX, choose, driver_cuda, nvidia_smi


# -- which PyTorch build ------------------------------------------------------------------------------
@pytest.mark.parametrize(("system", "machine", "cuda", "tag", "index"), [
    ("Linux", "x86_64", (13, 0), "cu130", ""),  # PyPI's own Linux wheel is the CUDA 13.0 build
    ("Linux", "x86_64", (13, 2), "cu130", ""),
    ("Linux", "x86_64", (12, 9), "cu128", INDEX.format(tag="cu128")),
    ("Linux", "x86_64", (12, 6), "cu126", INDEX.format(tag="cu126")),
    ("Linux", "x86_64", (12, 4), "cpu", INDEX.format(tag="cpu")),  # a driver older than every build
    ("Linux", "x86_64", None, "cpu", INDEX.format(tag="cpu")),  # no driver: no gigabytes of CUDA libraries
    ("Linux", "aarch64", (13, 0), "cu130", INDEX.format(tag="cu130")),
    ("Windows", "AMD64", (13, 0), "cu130", INDEX.format(tag="cu130")),  # PyPI's Windows wheel is CPU only
    ("Windows", "AMD64", (12, 8), "cu128", INDEX.format(tag="cu128")),
    ("Windows", "AMD64", None, "cpu", INDEX.format(tag="cpu")),
    ("Darwin", "arm64", None, "mps", ""),
    ("Darwin", "x86_64", None, "cpu", ""),
])
def test_the_pytorch_build_fits_the_driver_and_the_platform(system, machine, cuda, tag, index):
    build = choose(system, machine, cuda)
    assert (build.tag, build.index_url) == (tag, index)
    assert build.reason


def test_an_old_driver_is_named_as_the_fix():
    assert "update the NVIDIA driver" in choose("Linux", "x86_64", (11, 8)).reason


def test_nvidia_smi_is_read_for_the_driver_its_cuda_and_each_gpu(monkeypatch):
    header = "| NVIDIA-SMI 580.159.04   Driver Version: 580.159.04   CUDA Version: 13.0     |"
    assert driver_cuda(header) == (13, 0) and driver_cuda("no such line") is None

    def run(cmd, **kw):
        if len(cmd) == 1:
            return SimpleNamespace(returncode=0, stdout=header, stderr="")
        return SimpleNamespace(returncode=0, stdout="NVIDIA H100 80GB HBM3, 580.159.04, 81559, 80000\n", stderr="")

    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/nvidia-smi")
    smi = nvidia_smi(run)
    assert smi == {"gpus": [{"name": "NVIDIA H100 80GB HBM3", "driver": "580.159.04", "memory_mib": 81559,
                             "free_mib": 80000}], "driver": "580.159.04", "cuda": [13, 0]}
    broken = nvidia_smi(lambda cmd, **kw: SimpleNamespace(returncode=9, stdout="", stderr="NVIDIA-SMI has failed "
                                                          "because it couldn't communicate with the NVIDIA driver."))
    assert broken["error"].startswith("NVIDIA-SMI has failed") and broken["cuda"] is None
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert nvidia_smi(run) is None


def test_the_chooser_runs_as_a_script_without_tessera():
    """The installers run it before Tessera is installed: standard library only, one line of answer."""
    out = subprocess.run([sys.executable, "-S", "-I", "desktop/torch_build.py"], capture_output=True, text=True,
                         timeout=60, check=True)
    tag, index, reason = out.stdout.rstrip("\n").split("\t")
    assert tag in ("cpu", "cu130", "cu128", "cu126", "mps") and reason
    assert index == "" or index.startswith("https://download.pytorch.org/whl/")
    if shutil.which("nvidia-smi") is None and sys.platform.startswith("linux"):  # as on CI: no driver here
        assert (tag, index) == ("cpu", INDEX.format(tag="cpu"))


# -- the checks ----------------------------------------------------------------------------------------
def _one(findings, area):
    chosen = [f for f in findings if f.area == area]
    assert len(chosen) == 1, findings
    return chosen[0]


def test_python_older_than_311_fails_with_its_fix():
    assert doctor.check_python((3, 10, 12))[0].status == FAIL
    assert doctor.check_python((3, 11, 7))[0].status == OK


def test_missing_and_wrongly_pinned_packages_fail_by_name():
    versions = {"numpy": "2.1.0", "PySide6-Essentials": "6.12.0", "torch": "2.14.1"}
    found = doctor.check_packages(["numpy>=2.0", "pyside6-essentials>=6.6,<6.12", "torch==2.14.1", "lancedb>=0.40",
                                   "pywin32>=300; sys_platform == 'win32'"],
                                  installed=lambda name: versions.get(name if name != "pyside6-essentials"
                                                                      else "PySide6-Essentials"))
    assert [f.status for f in found] == [FAIL, FAIL]
    assert found[0].summary == "missing: lancedb"  # pywin32 is for Windows only
    assert "pyside6-essentials 6.12.0 (needs <6.12,>=6.6)" in found[1].summary
    ok = doctor.check_packages(["numpy>=2.0"], installed=lambda name: "2.1.0")
    assert [f.status for f in ok] == [OK]


def test_qt_names_its_missing_system_libraries_with_the_install_command():
    found = doctor.check_qt({"DISPLAY": ":0"}, missing=lambda: ["libxcb-cursor0"], system="Linux")[0]
    assert found.status == FAIL and "libxcb-cursor0" in found.summary
    assert "apt-get install" in found.fix and "libxcb-cursor0" in found.fix
    assert doctor.check_qt({"DISPLAY": ":0"}, missing=lambda: [], system="Linux")[0].status == OK
    assert doctor.check_qt({}, system="Linux")[0].status == WARN  # no display at all
    assert doctor.check_qt({"QT_QPA_PLATFORM": "offscreen"}, system="Linux")[0].status == INFO


def test_a_cpu_pytorch_beside_an_nvidia_gpu_fails_with_the_right_wheel_index():
    smi = {"gpus": [{"name": "RTX 4090"}], "driver": "570.1", "cuda": [12, 8]}
    found = doctor.check_gpu(smi, {"torch": "2.14.1+cpu", "cuda_build": None, "cuda": False, "devices": []},
                             system="Linux", machine="x86_64")
    assert _one(found, "NVIDIA driver").status == OK and "RTX 4090" in _one(found, "NVIDIA driver").summary
    torch = _one(found, "PyTorch")
    assert torch.status == FAIL and "does not see the NVIDIA GPU" in torch.summary
    assert "--index-url https://download.pytorch.org/whl/cu128" in torch.fix and "torch==" in torch.fix


def test_a_pytorch_build_newer_than_the_driver_fails_naming_both():
    smi = {"gpus": [{"name": "RTX 3060"}], "driver": "560.3", "cuda": [12, 6]}
    torch = _one(doctor.check_gpu(smi, {"torch": "2.14.1+cu130", "cuda_build": "13.0", "cuda": False, "devices": []},
                                  system="Linux", machine="x86_64"), "PyTorch")
    assert torch.status == FAIL and "needs CUDA 13.0" in torch.summary and "runs 12.6 only" in torch.summary
    assert "whl/cu126" in torch.fix


def test_a_working_gpu_reports_its_free_memory_and_warns_when_little_is_left():
    smi = {"gpus": [{"name": "RTX 4090"}], "driver": "580.1", "cuda": [13, 0]}
    info = {"torch": "2.14.1+cu130", "cuda_build": "13.0", "cuda": True,
            "devices": [{"name": "RTX 4090", "memory_gb": 24.0, "free_gb": 2.5}]}
    found = doctor.check_gpu(smi, info, system="Linux", machine="x86_64")
    assert _one(found, "PyTorch").status == OK
    memory = _one(found, "GPU memory")
    assert memory.status == WARN and "2.5 of 24.0 GB free" in memory.summary
    info["devices"][0]["free_gb"] = 20.0
    assert _one(doctor.check_gpu(smi, info, system="Linux", machine="x86_64"), "GPU memory").status == OK


def test_no_driver_and_no_torch_says_what_still_works():
    found = doctor.check_gpu(None, {"torch": None}, system="Linux", machine="x86_64")
    assert _one(found, "NVIDIA driver").status == INFO
    torch = _one(found, "PyTorch")
    assert torch.status == WARN and "procedural engine works" in torch.summary and "whl/cpu" in torch.fix
    mac = doctor.check_gpu(None, {"torch": "2.14.1", "mps": True, "cuda": False}, system="Darwin", machine="arm64")
    assert _one(mac, "PyTorch").status == OK and "Metal" in _one(mac, "PyTorch").summary


def test_low_disk_warns_and_too_low_fails(tmp_path):
    def usage(gb):
        return lambda path: SimpleNamespace(free=int(gb * 2**30))

    assert doctor.check_disk(tmp_path / "not" / "yet", usage(0.5))[0].status == FAIL
    assert doctor.check_disk(tmp_path, usage(3))[0].status == WARN
    assert doctor.check_disk(tmp_path, usage(50))[0].status == OK
    assert str(tmp_path) in doctor.check_disk(tmp_path / "not" / "yet", usage(50))[0].summary  # the nearest folder


def test_the_library_check_finds_a_lost_file_and_a_catalogue_that_does_not_open(tmp_path):
    from desktop.library.catalogue import Library

    assert doctor.check_library(tmp_path / "none")[0].status == INFO
    root = tmp_path / "lib"
    lib = Library(root)
    ids = [lib.add_tile(np.full((16, 16, 3), v, np.uint8), {"title": f"t{v}"}).added[0] for v in (10, 200)]
    file = lib.files / lib.get(ids[0])["file"]
    lib.close()
    healthy = doctor.check_library(root)[0]
    assert healthy.status == OK and healthy.summary.startswith("2 patterns")
    file.unlink()
    lost = doctor.check_library(root)[0]
    assert lost.status == FAIL and "1 have lost their image file" in lost.summary and "library check" in lost.fix
    (root / "library.db").write_bytes(b"this is not a database" * 100)
    broken = doctor.check_library(root)[0]
    assert broken.status == FAIL and "--restore" in broken.fix and "cannot be read" in broken.summary


def test_a_model_whose_files_moved_is_named_with_its_fix(tmp_path):
    models = tmp_path / "config"
    models.mkdir()
    entry = {"name": "deco", "kind": "diffusers-folder", "location": str(tmp_path / "gone"), "family": "sd15",
             "sha256": "", "source": "local"}
    (models / "models.json").write_text(json.dumps({"models": [entry]}))
    found = doctor.check_models(models)
    assert found[0].status == FAIL and "deco" in found[0].summary and "tessera models remove 'deco'" in found[0].fix
    assert doctor.check_models(tmp_path / "empty")[0].status == INFO


def test_the_marketplace_login_says_where_the_token_is(monkeypatch):
    assert doctor.check_marketplace()[0].status == INFO
    monkeypatch.setenv("TESSERA_MARKET_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TESSERA_MARKET_TOKEN", "secret")
    found = doctor.check_marketplace()[0]
    assert found.status == OK and "the environment" in found.summary and "secret" not in found.summary


def test_a_check_that_breaks_is_a_finding_and_the_others_still_run(monkeypatch):
    monkeypatch.setattr(doctor, "check_disk", lambda library: 1 / 0)
    found = doctor.diagnose(probe_torch=lambda: {"torch": None}, smi=lambda: None)
    broken = _one(found, "Disk")
    assert broken.status == FAIL and "ZeroDivisionError" in broken.summary
    assert {f.area for f in found} >= {"Python", "Packages", "Qt", "PyTorch", "Library", "CLIP", "TAESD", "Models",
                                       "Marketplace"}


# -- the command -----------------------------------------------------------------------------------
def _doctor(*args):
    return subprocess.run([sys.executable, "-m", "desktop", "doctor", *args], capture_output=True, text=True,
                          timeout=120)


def test_tessera_doctor_json_and_its_exit_codes(isolated_home):
    run = _doctor("--json")
    assert run.returncode == 0, run.stderr
    payload = json.loads(run.stdout)
    assert payload["ok"] is True and payload["counts"]["fail"] == 0
    areas = [f["area"] for f in payload["findings"]]
    assert areas[:2] == ["Python", "Packages"] and "Library" in areas and "Marketplace" in areas
    assert all(set(f) == {"area", "status", "summary", "fix"} for f in payload["findings"])
    config = isolated_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "models.json").write_text(json.dumps({"models": [
        {"name": "moved", "kind": "single-file", "location": str(isolated_home / "gone.safetensors"),
         "family": "sd15", "sha256": "", "source": "local"}]}))
    failing = _doctor()
    assert failing.returncode == 1
    assert "FAIL  Models         moved: its files are no longer at" in failing.stdout
    assert "fix: tessera models remove 'moved'" in failing.stdout


def test_tessera_doctor_help_lists_its_exit_codes():
    text = _doctor("--help").stdout
    assert "Exit 0 when nothing failed" in " ".join(text.split()) and "1 when a check failed" in " ".join(text.split())


# -- the window ------------------------------------------------------------------------------------
def test_help_diagnostics_shows_the_findings_worst_first_and_copies_them(window, qtbot, monkeypatch):
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QDialog

    from desktop.ui.diagnostics import DiagnosticsDialog

    shown = []
    monkeypatch.setattr(DiagnosticsDialog, "exec", lambda self: shown.append(self) or QDialog.DialogCode.Accepted)
    window.actions["diagnostics"].trigger()
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    dialog = shown[0]
    statuses = [dialog.table.topLevelItem(i).data(0, 0x0100) for i in range(dialog.table.topLevelItemCount())]
    order = {FAIL: 0, WARN: 1, INFO: 2, OK: 3}
    assert statuses == sorted(statuses, key=order.get) and len(statuses) >= 9
    assert "PyTorch" in [dialog.table.topLevelItem(i).text(0) for i in range(len(statuses))]
    dialog.copy.click()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("Tessera ") and "Packages" in copied and dialog.copy.text() == "Copied"
    with_fix = next(dialog.table.topLevelItem(i) for i in range(len(statuses)) if dialog.table.topLevelItem(i).text(2))
    dialog.copy_fix(with_fix)
    assert QGuiApplication.clipboard().text() == with_fix.text(2) and "Copied the fix for" in dialog.summary.text()
    dialog.deleteLater()


# -- what a bundle leaves out ----------------------------------------------------------------------
def test_a_missing_pytorch_is_one_sentence_in_the_render_process_and_the_cli(tmp_path, monkeypatch, capsys):
    from desktop.bundle import add_site_packages, missing_stack
    from desktop.errors import UserError
    from desktop.worker_process import _resolve

    assert missing_stack(ModuleNotFoundError("No module named 'numpyx'", name="numpyx")) is None
    said = missing_stack(ModuleNotFoundError("No module named 'torch.nn'", name="torch.nn"))
    assert isinstance(said, UserError) and "need PyTorch" in str(said) and "installers/install.sh" in str(said)
    (tmp_path / "needs_torch.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'diffusers'\", name='diffusers')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match="need PyTorch"):
        _resolve("needs_torch:render")
    assert add_site_packages({"TESSERA_SITE_PACKAGES": str(tmp_path)}) == []  # only a frozen bundle adds them

    from desktop import cli
    from desktop.cli import info

    def broken(args, emit):
        raise ModuleNotFoundError("No module named 'open_clip'", name="open_clip")

    monkeypatch.setitem(info.COMMANDS, "styles", broken)
    assert cli.main(["styles"]) == 2
    assert "need PyTorch, and open_clip is not installed" in capsys.readouterr().err


@pytest.mark.parametrize(("manager", "cursor", "command"), [
    ("apt-get", "libxcb-cursor0", "sudo apt-get install -y --no-install-recommends"),
    ("dnf", "xcb-util-cursor", "sudo dnf install -y"),
    ("pacman", "xcb-util-cursor", "sudo pacman -S --needed --noconfirm"),
    ("zypper", "libxcb-cursor0", "sudo zypper --non-interactive install"),
])
def test_qts_libraries_are_named_in_this_machines_package_manager(manager, cursor, command):
    from desktop import syslibs

    assert syslibs.package_manager(lambda name: f"/usr/bin/{name}" if name == manager else None) == manager
    lacking = syslibs.missing_packages({"DISPLAY": ":0"}, lambda lib: None if lib == "xcb-cursor" else "found", manager)
    assert lacking == [cursor]
    assert syslibs.shown_command(lacking, manager) == f"{command} {cursor}"
    assert syslibs.install_command(lacking, root=True, manager=manager)[-1] == cursor
    assert syslibs.package_manager(lambda name: None) == "apt-get"  # none known: Debian's words
