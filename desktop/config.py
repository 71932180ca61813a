"""Where Tessera keeps things, and the user's settings.

Paths come from platformdirs unless the environment says otherwise:
`TESSERA_HOME` moves everything (settings, logs, cache, library) under one folder,
which is how tests stay isolated; `TESSERA_LIBRARY` moves only the library.

Settings are a small JSON file with a schema version. It is written atomically
(temp file, fsync, replace), and a file that cannot be read is set aside, never
silently overwritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "Tessera"
SCHEMA_VERSION = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paths:
    """Every folder Tessera writes to."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path
    library_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "tessera.log"

    @property
    def ui_state_file(self) -> Path:
        return self.config_dir / "window.ini"

    def as_dict(self) -> dict[str, str]:
        out = {f.name: str(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out["settings_file"] = str(self.settings_file)
        out["log_file"] = str(self.log_file)
        return out


def resolve_paths(env: dict[str, str] | None = None) -> Paths:
    """Folders for this process, honouring TESSERA_HOME and TESSERA_LIBRARY."""
    env = os.environ if env is None else env
    home = env.get("TESSERA_HOME")
    if home:
        root = Path(home).expanduser()
        paths = Paths(
            config_dir=root / "config",
            data_dir=root / "data",
            cache_dir=root / "cache",
            log_dir=root / "logs",
            library_dir=root / "library",
        )
    else:
        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        data = Path(dirs.user_data_dir)
        paths = Paths(
            config_dir=Path(dirs.user_config_dir),
            data_dir=data,
            cache_dir=Path(dirs.user_cache_dir),
            log_dir=Path(dirs.user_log_dir),
            library_dir=data / "library",
        )
    library = env.get("TESSERA_LIBRARY")
    if library:
        paths = dataclasses.replace(paths, library_dir=Path(library).expanduser())
    return paths


@dataclass
class Settings:
    """User settings. Add a field with a default; bump SCHEMA_VERSION only to migrate."""

    schema_version: int = SCHEMA_VERSION
    library_dir: str | None = None  # None: the default under the data folder
    device: str = "auto"  # auto | cuda | cpu: where diffusion renders
    precision: str = "auto"  # auto | float16 | bfloat16 | float32
    batch_size: int = 1  # diffusion images rendered in one pass
    compile_unet: bool = False  # torch.compile the UNet (the first image of a shape pays for it)
    default_engine: str = "procedural"
    default_dpi: int = 150
    listing_mockups: list[str] = field(default_factory=lambda: ["wall", "swatch"])  # shown with each listing
    marketplace_profile: str = "generic"  # whose listing limits apply (resources/marketplaces)
    qa_profile: str = "default"
    recent_palettes: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: dict) -> Settings:
        raw = _migrate(dict(raw))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            log.warning("ignoring unknown settings: %s", ", ".join(unknown))
        defaults = cls()
        kept = {}
        for key, value in raw.items():
            if key not in known:
                continue
            if _acceptable(key, value, getattr(defaults, key)):
                kept[key] = value
            else:  # one bad value (a hand edit, say) costs that value, not the whole file
                log.warning("setting %s=%r is not usable; using %r", key, value, getattr(defaults, key))
        return cls(**kept)


_CHOICES = {"device": re.compile(r"auto|cpu|cuda(:\d+)?"), "precision": re.compile(r"auto|float16|bfloat16|float32")}
_RANGES = {"default_dpi": (10, 2400), "batch_size": (1, 64), "schema_version": (0, 10**6)}


def _acceptable(key: str, value: Any, default: Any) -> bool:
    """Whether a stored setting has its field's type (and, where there is one, its range or choices)."""
    if key == "library_dir":
        return value is None or isinstance(value, str)
    if type(value) is not type(default):  # bool is not taken for an int, nor an int for a bool
        return False
    if key in _CHOICES:
        return bool(_CHOICES[key].fullmatch(value))
    if key in _RANGES:
        low, high = _RANGES[key]
        return low <= value <= high
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return True


def _migrate(raw: dict) -> dict:
    """Bring an older settings dict up to SCHEMA_VERSION, one step at a time."""
    version = int(raw.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        log.warning("settings were written by a newer Tessera (schema %s); reading what is known", version)
    # Schema 0 (pre-release) called the library folder "library".
    if version < 1 and "library" in raw and "library_dir" not in raw:
        raw["library_dir"] = raw.pop("library")
    raw["schema_version"] = SCHEMA_VERSION
    return raw


def load_settings(path: Path) -> Settings:
    """Read settings; a missing file gives defaults, a broken one is set aside first."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("settings must be a JSON object")
        return Settings.from_dict(raw)
    except (ValueError, TypeError) as exc:
        backup = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        with contextlib.suppress(OSError):
            path.replace(backup)
        log.warning("settings file %s could not be read (%s); moved to %s, using defaults", path, exc, backup)
        return Settings()


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half.

    With durable=False the file is only written (temp file, replace) and not waited for on disk:
    a crash of the process still leaves the old file or the new one, and `make_durable` later
    makes many such files durable at once (the import writes 16 to a batch)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        with contextlib.suppress(OSError):  # make the rename itself durable
            _fsync_path(path.parent)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=1)
def _syncfs():
    """Linux's syncfs(2) through the C library, or None elsewhere."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def make_durable(paths: list[Path]) -> None:
    """Wait until these files, written with atomic_write_bytes(durable=False), and their names in
    their folders are on disk. On Linux one syncfs(2) of their filesystem does it (one journal
    commit, where an fsync of every file and folder made two each); elsewhere each file and
    folder is fsynced. Raises OSError when the disk refuses."""
    if not paths:
        return
    syncfs = _syncfs()
    if syncfs is not None:
        import ctypes

        done = set()
        for path in paths:  # one call per filesystem (a library lives on one)
            device = path.stat().st_dev
            if device in done:
                continue
            fd = os.open(path.parent, os.O_RDONLY)
            try:
                if syncfs(fd) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err), str(path.parent))
            finally:
                os.close(fd)
            done.add(device)
        return
    for path in paths:
        fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows flushes only writable handles
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if os.name != "nt":  # Windows cannot open a folder to flush it; NTFS journals the rename
        for folder in {p.parent for p in paths}:
            _fsync_path(folder)


def save_settings(settings: Settings, path: Path) -> None:
    payload = json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(path, payload.encode("utf-8"))


def library_dir(paths: Paths, settings: Settings, env: dict[str, str] | None = None) -> Path:
    """The library folder: TESSERA_LIBRARY, then the settings, then the default."""
    env = os.environ if env is None else env
    if env.get("TESSERA_LIBRARY"):
        return paths.library_dir
    if settings.library_dir:
        return Path(settings.library_dir).expanduser()
    return paths.library_dir


def downloads_allowed() -> bool:
    """False when the machine is told to stay offline (HF_HUB_OFFLINE=1 or TESSERA_OFFLINE=1)."""
    return not any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
                   for name in ("HF_HUB_OFFLINE", "TESSERA_OFFLINE"))
