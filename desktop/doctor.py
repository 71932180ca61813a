"""`tessera doctor` and Help ▸ Diagnostics: what a user's problem usually is, each with its fix in one line.

Each check looks at one thing and returns Findings: Python and the packages Tessera needs (the pins
included), Qt's platform and its system libraries, the NVIDIA driver and the CUDA it runs, the
PyTorch build and its CUDA, free GPU memory, disk space where the library lives, the library's health,
the CLIP and TAESD weights, registered models whose files moved, and the marketplace login. Nothing
here reaches the network or writes a file; torch is asked in a child process (as the window does),
so a broken CUDA install cannot take the caller down. A check that itself fails says so as a finding.

No Qt here: the window shows the same findings (desktop/ui/diagnostics.py).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
MARKS = {OK: "ok  ", INFO: "--  ", WARN: "warn", FAIL: "FAIL"}
MIN_PYTHON = (3, 11)
LOW_DISK_GB, TOO_LOW_DISK_GB = 5.0, 1.0
LOW_VRAM_GB = 4.0  # SD 1.5 at 512² in half precision fits; SDXL wants more


@dataclass
class Finding:
    area: str  # Python | Packages | Qt | NVIDIA driver | PyTorch | GPU memory | Disk | Library | CLIP | TAESD | Models | Marketplace
    status: str  # ok | info | warn | fail
    summary: str  # what was found, one line
    fix: str = ""  # what to do, one line (empty when nothing is to be done)

    def line(self) -> str:
        text = f"{MARKS[self.status]}  {self.area:14s} {self.summary}"
        return text + (f"\n{'':20s} fix: {self.fix}" if self.fix else "")


# -- Python and packages -----------------------------------------------------------------------------
def check_python(version: tuple[int, ...] = sys.version_info[:3]) -> list[Finding]:
    shown = ".".join(map(str, version))
    if tuple(version[:2]) < MIN_PYTHON:
        return [Finding("Python", FAIL, f"Python {shown}; Tessera needs {'.'.join(map(str, MIN_PYTHON))} or newer",
                        "install Python 3.11 or newer, then run the installer again (it keeps the library)")]
    return [Finding("Python", OK, f"Python {shown} ({sys.executable})")]


def _requirements(dist: str = "tessera") -> list[str]:
    try:
        return [r for r in importlib.metadata.requires(dist) or [] if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:
        return []


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_packages(requirements: list[str] | None = None,
                   installed: Callable[[str], str | None] = _installed) -> list[Finding]:
    """Every package Tessera requires is installed, at a version its requirement allows."""
    from packaging.requirements import InvalidRequirement, Requirement

    from desktop.bundle import SITE_ENV, frozen

    if requirements is None and frozen():
        return [Finding("Packages", INFO, "a bundle: its libraries are inside it, PyTorch and the diffusion stack "
                        "left out", f"for diffusion: set {SITE_ENV} to a Python 3.11 environment's site-packages "
                        "with torch, or install with installers/install.sh")]
    requirements = _requirements() if requirements is None else requirements
    if not requirements:
        return [Finding("Packages", WARN, "Tessera's own package metadata is not installed: its requirements "
                        "cannot be checked", "install Tessera with the installer (or pip install -e . in a clone)")]
    missing, wrong = [], []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = installed(req.name)
        if version is None:
            missing.append(req.name)
        elif req.specifier and not req.specifier.contains(version, prereleases=True):
            wrong.append(f"{req.name} {version} (needs {req.specifier})")
    findings = []
    if missing:
        findings.append(Finding("Packages", FAIL, "missing: " + ", ".join(missing),
                                "run the installer's update (or pip install -e . in a clone)"))
    if wrong:
        findings.append(Finding("Packages", FAIL, "wrong versions: " + "; ".join(wrong),
                                "run the installer's update, which installs the versions Tessera pins"))
    if not findings:
        findings.append(Finding("Packages", OK, f"all {len(requirements)} requirements met "
                                f"(PySide6 {installed('PySide6-Essentials') or '?'}, torch {installed('torch') or '?'})"))
    return findings


# -- Qt ----------------------------------------------------------------------------------------------
def check_qt(env: dict[str, str] | None = None, missing: Callable[[], list[str]] | None = None,
             system: str | None = None) -> list[Finding]:
    from desktop import syslibs

    env = dict(os.environ) if env is None else env
    system = platform.system() if system is None else system
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        where = f"QT_QPA_PLATFORM={chosen}" + (" (no window on screen: for tests and scripts)"
                                               if chosen in ("offscreen", "minimal") else "")
        return [Finding("Qt", OK if chosen not in ("offscreen", "minimal") else INFO, where)]
    if system != "Linux":
        return [Finding("Qt", OK, f"{system}: Qt's own platform plugin")]
    if env.get("WAYLAND_DISPLAY"):
        return [Finding("Qt", OK, "Wayland session: Qt's Wayland plugin")]
    if not env.get("DISPLAY"):
        return [Finding("Qt", WARN, "no display (DISPLAY and WAYLAND_DISPLAY are unset): the window cannot open here",
                        "run from a desktop session, or use the `tessera` commands, which need no display")]
    manager = syslibs.package_manager()
    lacking = (missing or (lambda: syslibs.missing_packages(env, manager=manager)))()
    if lacking:
        return [Finding("Qt", FAIL, "Qt's X11 plugin needs system libraries that are missing: " + ", ".join(lacking),
                        syslibs.shown_command(lacking, manager))]
    return [Finding("Qt", OK, "X11: every system library Qt's plugin needs is installed")]


# -- NVIDIA driver, PyTorch, GPU memory ---------------------------------------------------------------
def check_gpu(smi: dict | None, torch_info: dict[str, Any], system: str | None = None,
              machine: str | None = None) -> list[Finding]:
    """The driver (nvidia-smi), the PyTorch build (a probe in a child process) and whether they fit."""
    from desktop.torch_build import choose

    system = platform.system() if system is None else system
    machine = platform.machine() if machine is None else machine
    driver_cuda = tuple(smi["cuda"]) if smi and smi.get("cuda") else None
    build = choose(system, machine, driver_cuda)  # type: ignore[arg-type]
    findings = []
    if smi is None:
        findings.append(Finding("NVIDIA driver", INFO, "none found (no nvidia-smi): no CUDA GPU"
                                + ("; Apple's Metal is used where PyTorch has it" if system == "Darwin" else "")))
    elif smi.get("error"):
        findings.append(Finding("NVIDIA driver", FAIL, f"nvidia-smi fails: {smi['error']}",
                                "reinstall or update the NVIDIA driver, then restart the machine"))
    else:
        names = ", ".join(g["name"] for g in smi.get("gpus", [])) or "no GPU listed"
        cuda = ".".join(map(str, driver_cuda)) if driver_cuda else "unknown"
        findings.append(Finding("NVIDIA driver", OK, f"{smi.get('driver') or '?'} (runs CUDA {cuda}): {names}"))

    torch_version = torch_info.get("torch")
    pin = _pinned("torch")
    if torch_info.get("skipped"):
        findings.append(Finding("PyTorch", INFO, f"torch {torch_version or 'not installed'}: not asked ({torch_info['skipped']})"))
        return findings
    if torch_version is None:
        from desktop.bundle import SITE_ENV, frozen

        fix = (f"set {SITE_ENV} to the site-packages of a Python 3.11 environment with torch {pin}".rstrip()
               if frozen() else _torch_fix(build, pin))
        findings.append(Finding("PyTorch", WARN, "not installed: diffusion and LoRA training are off (the procedural "
                                "engine works)", fix))
        return findings
    if torch_info.get("error") and not torch_info.get("cuda"):
        findings.append(Finding("PyTorch", FAIL, f"torch {torch_version}: {torch_info['error']}", _torch_fix(build, pin)))
        return findings
    built_for = torch_info.get("cuda_build")
    label = f"torch {torch_version} (" + (f"CUDA {built_for} build" if built_for else "CPU build") + ")"
    if torch_info.get("cuda"):
        findings.append(Finding("PyTorch", OK, label + ": uses the GPU"))
        for device in torch_info.get("devices", []):
            free = device.get("free_gb")
            summary = f"{device['name']}: {free if free is not None else '?'} of {device.get('memory_gb', '?')} GB free"
            if free is not None and free < LOW_VRAM_GB:
                findings.append(Finding("GPU memory", WARN, summary + " (other programs hold the rest)",
                                        "close other GPU programs, or turn on low-memory mode in Preferences"))
            else:
                findings.append(Finding("GPU memory", OK, summary))
    elif torch_info.get("mps"):
        findings.append(Finding("PyTorch", OK, label + ": uses Apple's Metal (MPS)"))
    elif smi is not None and not smi.get("error") and driver_cuda:
        if built_for and _cuda_tuple(built_for) > driver_cuda:
            findings.append(Finding("PyTorch", FAIL, f"{label} needs CUDA {built_for}, and the NVIDIA driver runs "
                                    f"{'.'.join(map(str, driver_cuda))} only: diffusion runs on the CPU",
                                    _torch_fix(build, pin)))
        else:
            findings.append(Finding("PyTorch", FAIL, f"{label} does not see the NVIDIA GPU: diffusion runs on the CPU",
                                    _torch_fix(build, pin)))
    else:
        findings.append(Finding("PyTorch", INFO, label + ": diffusion runs on the CPU (minutes a tile)"))
    return findings


def _cuda_tuple(text: str) -> tuple[int, int]:
    parts = re.findall(r"\d+", text)
    return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0) if parts else (0, 0)


def _pinned(name: str) -> str:
    for text in _requirements():
        found = re.match(rf"{name}\s*==\s*([\w.]+)", text)
        if found:
            return found.group(1)
    return ""


def _torch_fix(build, pin: str) -> str:
    version = f"=={pin}" if pin else ""
    index = f" --index-url {build.index_url}" if build.index_url else ""
    return f"pip install --force-reinstall torch{version} torchvision{index}   ({build.reason})"


# -- disk, library ------------------------------------------------------------------------------------
def _existing(path: Path) -> Path:
    for folder in (path, *path.parents):
        if folder.exists():
            return folder
    return Path.cwd()


def check_disk(library: Path, usage: Callable[[Path], Any] = shutil.disk_usage) -> list[Finding]:
    where = _existing(library)
    free_gb = usage(where).free / 2**30
    summary = f"{free_gb:.1f} GB free where the library is ({where})"
    if free_gb < TOO_LOW_DISK_GB:
        return [Finding("Disk", FAIL, summary + ": imports and renders will stop",
                        "free some space on that disk, or move the library (Preferences ▸ Library folder)")]
    if free_gb < LOW_DISK_GB:
        return [Finding("Disk", WARN, summary, "free some space: a season's renders and exports take gigabytes")]
    return [Finding("Disk", OK, summary)]


def check_library(library: Path) -> list[Finding]:
    from desktop.library.catalogue import Library
    from desktop.library.integrity import health

    if not (library / "library.db").is_file():
        return [Finding("Library", INFO, f"not made yet at {library} (the window makes it when it first opens)")]
    try:
        lib = Library(library, read_only=True)
        try:
            state = health(lib)
        finally:
            lib.close()
    except Exception as exc:  # a library that cannot even be read is exactly what this check is for
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return [Finding("Library", FAIL, f"{library} cannot be read: {reason}",
                        f"tessera library check --restore --library '{library}' (the latest backup; --rebuild "
                        "makes it again from the files when there is none)")]
    summary = f"{state['patterns']} patterns at {library}"
    if state["quick_check"] != "ok":
        return [Finding("Library", FAIL, f"{summary}: SQLite's check says {state['quick_check']}",
                        f"tessera library check --repair --library '{library}'")]
    if state["missing_files"]:
        return [Finding("Library", FAIL, f"{summary}: {len(state['missing_files'])} have lost their image file",
                        f"tessera library check --library '{library}' lists them; restore the files from a backup")]
    return [Finding("Library", OK, summary + " (quick check ok; `tessera library check` reads every file)")]


# -- weights and models -------------------------------------------------------------------------------
def check_weights(data_dir: Path) -> list[Finding]:
    from desktop.engine.diffusion.previews import find_taesd
    from desktop.library.clip import find_weights

    clip = find_weights(data_dir=data_dir)
    findings = [Finding("CLIP", OK, f"weights at {clip}") if clip else
                Finding("CLIP", INFO, "no weights yet: text search, auto-tags and trends use their fallbacks",
                        "tessera library clip-download (about 600 MB, once)")]
    for family, label in (("sd15", "SD 1.5"), ("sdxl", "SDXL")):
        taesd = find_taesd(family, data_dir=data_dir)
        folder = "taesd" if family == "sd15" else "taesdxl"
        findings.append(Finding("TAESD", OK, f"{label} previews: {taesd}") if taesd else
                        Finding("TAESD", INFO, f"no {label} preview decoder: live previews are coarse (latent colours)",
                                f"put madebyollin/{folder} (config.json and weights) in {data_dir / 'models' / folder}"))
    return findings


def check_models(config_dir: Path) -> list[Finding]:
    from desktop.engine.diffusion.registry import ModelRegistry

    entries = ModelRegistry(config_dir / "models.json").entries()
    if not entries:
        return [Finding("Models", INFO, "no diffusion model registered (the procedural engine needs none)",
                        "tessera models add PATH_OR_OWNER/NAME")]
    moved = [e for e in entries if e.kind != "hf-id" and not Path(e.location).expanduser().exists()]
    findings = [Finding("Models", FAIL, f"{e.name}: its files are no longer at {e.location}",
                        f"tessera models remove '{e.name}', then tessera models add NEW_PATH --name '{e.name}'")
                for e in moved]
    if len(moved) < len(entries):
        findings.append(Finding("Models", OK, f"{len(entries) - len(moved)} of {len(entries)} registered models found"))
    return findings


def check_marketplace() -> list[Finding]:
    from desktop.library import marketplace

    account = marketplace.load_account()
    if account is None:
        return [Finding("Marketplace", INFO, "not signed in: publishing is off", "tessera publish login URL")]
    where = "the environment" if os.environ.get("TESSERA_MARKET_TOKEN") else (
        "the OS keyring" if marketplace._keyring_get(account.url) else "marketplace.json (mode 600)")
    return [Finding("Marketplace", OK, f"signed in to {account.host}; the token is in {where} (not tried: doctor "
                    "stays offline)")]


# -- all of it ----------------------------------------------------------------------------------------
def diagnose(probe_torch: Callable[[], dict] | None = None, smi: Callable[[], dict | None] | None = None
             ) -> list[Finding]:
    """Every check, in the order a user reads them. A check that raises becomes a finding of its own."""
    from desktop.config import library_dir, load_settings, resolve_paths
    from desktop.torch_build import nvidia_smi

    paths = resolve_paths()
    try:
        library = library_dir(paths, load_settings(paths.settings_file))
    except Exception:
        library = paths.library_dir
    smi_out: dict | None = None

    def gpu() -> list[Finding]:
        nonlocal smi_out
        smi_out = (smi or nvidia_smi)()
        return check_gpu(smi_out, (probe_torch or _probe_torch)())

    checks: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("Python", check_python), ("Packages", check_packages), ("Qt", check_qt), ("PyTorch", gpu),
        ("Disk", lambda: check_disk(library)), ("Library", lambda: check_library(library)),
        ("CLIP", lambda: check_weights(paths.data_dir)), ("Models", lambda: check_models(paths.config_dir)),
        ("Marketplace", check_marketplace)]
    findings: list[Finding] = []
    for area, check in checks:
        try:
            findings += check()
        except Exception as exc:  # one broken check must not hide the others
            findings.append(Finding(area, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}",
                                    "report this with the text below (Help ▸ Diagnostics ▸ Copy)"))
    return findings


def _probe_torch() -> dict[str, Any]:
    """Torch's view of the GPU from a child process (never in this one), unless TESSERA_GPU_PROBE=off."""
    from desktop.hardware import package_version, probe_devices_subprocess

    if os.environ.get("TESSERA_GPU_PROBE", "on").lower() in ("off", "0", "no"):
        return {"torch": package_version("torch"), "skipped": "TESSERA_GPU_PROBE=off"}
    return probe_devices_subprocess()


def report(findings: list[Finding]) -> dict[str, Any]:
    from desktop import __version__

    return {"tessera": __version__, "platform": platform.platform(), "python": platform.python_version(),
            "ok": not any(f.status == FAIL for f in findings),
            "counts": {s: sum(f.status == s for f in findings) for s in (OK, INFO, WARN, FAIL)},
            "findings": [asdict(f) for f in findings]}


def as_text(findings: list[Finding]) -> str:
    from desktop import __version__

    head = f"Tessera {__version__} on {platform.platform()} (Python {platform.python_version()})"
    fails = sum(f.status == FAIL for f in findings)
    warns = sum(f.status == WARN for f in findings)
    tail = ("Nothing wrong found." if not fails and not warns else
            f"{fails} problem{'s' * (fails != 1)} and {warns} warning{'s' * (warns != 1)}: each with its fix above.")
    return "\n".join([head, "", *(f.line() for f in findings), "", tail])
