import json

import pytest

from desktop.config import (
    SCHEMA_VERSION,
    Settings,
    atomic_write_bytes,
    library_dir,
    load_settings,
    resolve_paths,
    save_settings,
)


def test_tessera_home_moves_everything(tmp_path):
    paths = resolve_paths({"TESSERA_HOME": str(tmp_path)})
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir, paths.library_dir):
        assert tmp_path in folder.parents
    assert paths.settings_file == tmp_path / "config" / "settings.json"


def test_tessera_library_moves_only_the_library(tmp_path):
    env = {"TESSERA_HOME": str(tmp_path / "home"), "TESSERA_LIBRARY": str(tmp_path / "lib")}
    paths = resolve_paths(env)
    assert paths.library_dir == tmp_path / "lib"
    assert paths.config_dir == tmp_path / "home" / "config"
    assert library_dir(paths, Settings(library_dir="/elsewhere"), env) == tmp_path / "lib"


def test_default_paths_come_from_platformdirs():
    paths = resolve_paths({})
    assert "Tessera" in str(paths.config_dir) or "tessera" in str(paths.config_dir).lower()


def test_settings_round_trip_with_schema_version(tmp_path):
    path = tmp_path / "settings.json"
    save_settings(Settings(default_dpi=300, recent_palettes=["art-deco"]), path)
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == SCHEMA_VERSION
    loaded = load_settings(path)
    assert loaded.default_dpi == 300 and loaded.recent_palettes == ["art-deco"]


def test_missing_settings_give_defaults(tmp_path):
    assert load_settings(tmp_path / "nope.json") == Settings()


def test_a_broken_settings_file_is_set_aside_not_lost(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()
    backups = list(tmp_path.glob("settings.json.broken-*"))
    assert len(backups) == 1 and backups[0].read_text() == "{not json"


def test_old_schema_is_migrated_and_unknown_keys_ignored(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"library": "/old/place", "mystery": 1}))
    settings = load_settings(path)
    assert settings.library_dir == "/old/place"
    assert settings.schema_version == SCHEMA_VERSION


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    path.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("desktop.config.os.replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp file left behind


def test_a_bad_value_costs_that_value_only(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"default_dpi": "300", "batch_size": 0, "precision": "float8", "device": "cuda:1",
                                "compile_unet": 1, "qa_profile": "print-strict", "recent_palettes": ["a", 2],
                                "library_dir": "/studio/library"}))
    settings = load_settings(path)
    defaults = Settings()
    assert (settings.default_dpi, settings.batch_size, settings.precision) == (
        defaults.default_dpi, defaults.batch_size, defaults.precision)
    assert settings.compile_unet is False and settings.recent_palettes == []  # 1 is not a bool; 2 not a name
    assert (settings.device, settings.qa_profile, settings.library_dir) == ("cuda:1", "print-strict", "/studio/library")
    assert "default_dpi='300' is not usable" in caplog.text
    assert not list(tmp_path.glob("settings.json.broken-*"))  # the file itself was fine
