"""Saved briefs: a collection keeps the Brief (desktop/engine/briefs.py), the window opens it again
(Generate ▸ Open a saved brief…) and the CLI generates from it (generate --brief NAME)."""

import dataclasses
import json

import pytest

from desktop.cli import BRIEF_FLAGS, main
from desktop.engine.briefs import FIELDS, brief_of, request_of
from desktop.engine.generate import GenerateRequest, Machine, ModelSettings
from desktop.engine.images import read_metadata
from desktop.errors import UserError
from desktop.library import Library, collections
from desktop.palettes import parse_palette

DECO = GenerateRequest(style="toss", params={"count": 12, "size": 0.2}, repeat="half-drop", width=320, height=240,
                       palette="#111111,#c9a227,#f0e6d2", count=3, dpi=300, qa_profile="print-strict",
                       qa_overrides={"print": {"dpi": 300, "print_size_in": [12.0, 9.0]}}, auto_correct=True,
                       prompt="art deco fans", negative_prompt="text",
                       diffusion=ModelSettings(steps=25, guidance=6.5, scheduler="euler"),
                       seed=99, out_dir="/somewhere", source="x.png", parent_id=7,
                       machine=Machine(batch_size=4, device="cuda"))


def test_a_brief_keeps_what_to_make_and_not_one_run_or_one_machine():
    brief = brief_of(DECO)
    assert json.loads(json.dumps(brief)) == brief  # plain JSON, as a collection stores it
    assert not {"seed", "out_dir", "source", "parent_id", "batch_size", "device", "precision", "compile"} & set(brief)
    again = request_of(brief, seed=5)
    assert again.diffusion == DECO.diffusion and again.machine == Machine()  # the model's part kept, not the machine's
    assert again == dataclasses.replace(DECO, seed=5, out_dir=None, source="", parent_id=None, machine=Machine())


def test_a_request_is_three_parts_and_its_repeat_is_parsed_once():
    from desktop.repeat import Repeat, RepeatError

    request = GenerateRequest(repeat="Half Drop")
    assert request.repeat is Repeat.HALF_DROP  # parsed where it is made; carried as a Repeat
    with pytest.raises(RepeatError, match="unknown repeat"):
        GenerateRequest(repeat="zigzag")
    flat = DECO.flat()
    assert flat["steps"] == 25 and flat["batch_size"] == 4 and flat["repeat"] == "half-drop"
    assert json.loads(json.dumps(flat)) == flat
    assert GenerateRequest.from_dict(flat) == DECO  # flat, as saved briefs and older jobs hold it
    nested = dataclasses.asdict(DECO)  # as a job's request is kept now
    assert GenerateRequest.from_dict(nested) == DECO
    assert DECO.with_flat(steps=40, device="cpu").diffusion.steps == 40
    assert DECO.with_flat(device="cpu").machine.device == "cpu" and DECO.machine.device == "cuda"


def test_an_older_brief_reads_as_before():
    old = {"style": "stripes", "params": {"count": 4}, "repeat": "mirror", "palette": ["#102030", "#405060"],
           "qa_profile": "tone-on-tone", "size": [512, 256]}
    request = request_of(old)
    assert (request.style, request.repeat, request.width, request.height) == ("stripes", "mirror", 512, 256)
    assert request.palette == "#102030,#405060" and request.qa_profile == "tone-on-tone"
    assert request_of({"repeat": "basic", "palette": []}).palette == GenerateRequest().palette
    with pytest.raises(UserError, match="size"):
        request_of({"size": "big"})
    with pytest.raises(UserError, match="not one Tessera can read"):
        request_of(["not", "a", "brief"])


def test_every_field_a_brief_keeps_is_set_by_some_generate_option():
    assert set(BRIEF_FLAGS) | {"style", "params", "width", "height", "qa_overrides"} == set(FIELDS)


def test_a_collection_keeps_the_brief_and_shows_its_palette(tmp_path):
    with Library(tmp_path / "lib") as lib:
        collections.create(lib, "Deco", brief_of(DECO))
        collections.create(lib, "Named", {"palette": "art-deco", "repeat": "half-brick"})
        assert request_of(collections.saved_brief(lib, "Deco"), seed=99, out_dir="/somewhere", source="x.png",
                          parent_id=7, batch_size=4, device="cuda") == DECO
        shown = {c["name"]: c["palette"] for c in collections.all_collections(lib)}
        assert shown["Deco"] == ["#111111", "#c9a227", "#f0e6d2"]
        assert shown["Named"][0].startswith("#") and len(shown["Named"]) > 2  # the name's colours, not its letters
        assert request_of(collections.saved_brief(lib, "Named")).palette == "art-deco"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_from_a_collections_brief_with_the_command_line_over_it(capsys, tmp_path):
    lib_dir = str(tmp_path / "lib")
    with Library(lib_dir) as lib:
        collections.create(lib, "Deco", brief_of(dataclasses.replace(DECO, width=96, height=64, count=2,
                                                                     auto_correct=False)))
    code, out, err = run(capsys, "--library", lib_dir, "generate", "--brief", "Deco", "--out", str(tmp_path / "a"),
                         "--json")
    assert code == 0, err
    tiles = json.loads(out)["tiles"]
    assert len(tiles) == 2 and {t["style"] for t in tiles} == {"toss"}
    first = read_metadata(tiles[0]["path"])
    assert first["repeat"] == "half-drop" and first["size"] == [96, 64] and first["dpi"] == 300
    assert first["params"]["count"] == 12 and first["palette"]["colors"] == ["#111111", "#c9a227", "#f0e6d2"]
    assert first["qa"]["profile"] == "print-strict"
    # what the command line says outright wins: a count, a size, a style option; the rest is the brief's
    code, out, err = run(capsys, "--library", lib_dir, "generate", "--brief", "Deco", "--count", "1", "--size=64",
                         "--spacing", "2", "--out", str(tmp_path / "b"), "--json")
    assert code == 0, err
    tiles = json.loads(out)["tiles"]
    assert len(tiles) == 1 and tiles[0]["size"] == [64, 64]
    assert tiles[0]["params"]["spacing"] == 2.0 and tiles[0]["params"]["count"] == 12
    assert tiles[0]["repeat"] == "half-drop"
    # another style: the brief's style options are not carried over to it
    code, out, err = run(capsys, "--library", lib_dir, "generate", "--brief", "Deco", "--style", "stripes",
                         "--out", str(tmp_path / "c"), "--json")
    assert code == 0, err
    assert json.loads(out)["tiles"][0]["style"] == "stripes"
    code, out, err = run(capsys, "--library", lib_dir, "generate", "--brief", "Nope", "--out", str(tmp_path / "d"))
    assert code == 2 and "no collection called 'Nope'" in err and not (tmp_path / "d").exists()


def test_the_window_saves_the_brief_and_opens_it_again(window, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QInputDialog

    from desktop.ui.brief_controller import BRIEF_BEFORE

    brief = window.brief
    brief.set_style("kaleidoscope")
    brief.set_option("group", "p3m1")
    brief.set_option("zoom", 0.5)
    brief.set_option("colours", "palette")
    brief.repeat.setCurrentIndex(brief.repeat.findData("half-brick"))
    brief.width_spin.setValue(300)
    brief.height_spin.setValue(200)
    brief.set_custom_palette(parse_palette("#102030,#d0c0b0,#806040"))
    brief.count.setValue(3)
    brief.print_size.setValue(10.0)
    brief.auto_correct.setChecked(True)
    saved = brief.build_request()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Client A", True)))
    window.briefs.save_brief_as_collection()
    qtbot.waitUntil(lambda: "Client A" in [c["name"] for c in collections.all_collections(window.lib)],
                    timeout=30_000)
    # the Brief changes; opening the saved one puts every field back
    brief.set_style("stripes")
    brief.palette_combo.setCurrentIndex(brief.palette_combo.findData("botanical"))
    brief.width_spin.setValue(512)
    brief.auto_correct.setChecked(False)
    changed = brief.build_request()
    asked = []

    def choose(parent, title, label, items, current, editable):
        asked.append(list(items))
        return items[-1], True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(choose))
    collections.add(window.lib, "Picks", [], make_missing=True)  # a collection of patterns keeps no brief
    window.briefs.open_saved_brief()
    assert asked[-1] == ["Client A"]
    assert brief_of(brief.build_request()) == brief_of(saved)
    # and the Brief it replaced is offered first, to go back to
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda parent, title, label, items, *a: (items[0], True)))
    window.briefs.open_saved_brief()
    assert brief_of(brief.build_request()) == brief_of(changed)
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda parent, title, label, items, *a: (
        asked.append(list(items)) or (BRIEF_BEFORE, True))))
    window.briefs.open_saved_brief()
    assert asked[-1] == [BRIEF_BEFORE, "Client A"] and brief_of(brief.build_request()) == brief_of(saved)


def test_a_brief_whose_model_is_not_here_says_so_and_keeps_the_rest(window):
    missed = window.brief.apply_request(GenerateRequest(engine="house-deco", style="toss", params={"bogus": 1},
                                                        palette="art-deco", prompt="fans"))
    assert window.brief.engine.currentData() == "procedural" and window.brief.prompt.text() == "fans"
    assert any("house-deco" in m for m in missed) and any("bogus" in m for m in missed)
    assert window.brief.palette_spec() == "art-deco"


def test_a_collection_saved_with_a_palettes_letters_shows_its_colours(tmp_path):
    """Before 2026-12-06 the window stored a named palette's letters as the collection's colours."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from desktop.library.models import Collection

    with Library(tmp_path / "lib") as lib:
        collections.create(lib, "Old", {"palette": "art-deco"})
        with Session(lib.engine) as session, session.begin():
            session.execute(update(Collection).values(palette=list("art-deco")))
        assert collections.all_collections(lib)[0]["palette"] == parse_palette("art-deco").hex


def test_a_brief_with_a_palette_this_machine_lacks_changes_nothing(window):
    brief = window.brief
    before = brief_of(brief.build_request())
    with pytest.raises(UserError):
        brief.apply_request(GenerateRequest(style="toss", palette="a-palette-from-another-studio"))
    assert brief_of(brief.build_request()) == before
