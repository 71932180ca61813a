"""Style parameters: declared once, validated once, listed by `tessera styles --json`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from desktop.errors import UserError

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    empty: str | None = None  # a file option (NAME_path): what leaving it empty gives

    def coerce(self, value: Any, style: str) -> Any:
        """The value as this parameter's type, or a UserError naming the problem."""
        where = f"{style}: option '{self.name}'"
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise UserError(f"{where} takes true or false, not '{value}'")
        if self.kind in (int, float):
            try:
                number = self.kind(value) if self.kind is float else int(str(value).strip(), 10)
            except (TypeError, ValueError):
                raise UserError(f"{where} takes a {'whole ' if self.kind is int else ''}number, not '{value}'") from None
            if isinstance(value, float) and self.kind is int and not float(value).is_integer():
                raise UserError(f"{where} takes a whole number, not '{value}'")
            if number != number:  # NaN
                raise UserError(f"{where} takes a number, not '{value}'")
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise UserError(f"{where} must be between {self.min} and {self.max}, not {value}")
            return number
        text = str(value).strip()
        if self.choices is not None and text not in self.choices:
            raise UserError(f"{where} must be one of {', '.join(self.choices)}, not '{value}'")
        return text

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind.__name__, "default": self.default,
                               "help": self.help}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.empty is not None:
            out["empty"] = self.empty
        return out


@dataclass(frozen=True)
class Style:
    """A generator. `periodic` says how it stays seamless:

    - "box": the design is periodic on the repeat's content rectangle (repeat.content_period)
      and `render` draws one rectangle, which is tiled to fill the tile;
    - "lattice": `render` draws the whole tile and places everything through the repeat
      lattice, so half-drop and half-brick designs are truly offset, not stacked.
    """

    name: str
    label: str
    description: str
    render: Callable[..., Any]
    params: tuple[Param, ...] = field(default=())
    periodic: str = "box"
    family: str = "geometric"
    check: Callable[[dict[str, Any]], None] | None = None  # extra validation across options
    # what the style made of the brief, in words, where that is not plain (which palette colour a
    # sett letter took): notes(params, palette colours as 0..1 RGB rows) -> sentences
    notes: Callable[[dict[str, Any], Any], list[str]] | None = None
    # why these options leave the brief's palette aside (QA then skips its palette check, saying so);
    # None: the palette is used
    palette_unused: Callable[[dict[str, Any]], str | None] | None = None
    # every pixel depends only on its own coordinates (ctx.xs(), ctx.ys()) and on draws from
    # ctx.rng made before any pixel work: the tile can be drawn as row strips on several threads
    strips: bool = False

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def resolve(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with `given`, each value validated; unknown names are errors."""
        values = {p.name: p.default for p in self.params}
        for raw_name, value in (given or {}).items():
            name = raw_name.replace("-", "_")
            param = self.param(name)
            if param is None:
                known = ", ".join(p.name for p in self.params) or "none"
                raise UserError(f"style '{self.name}' has no option '{raw_name}' (its options: {known})")
            values[name] = param.coerce(value, self.name)
        if self.check is not None:
            self.check(values)
        return values

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "family": self.family, "description": self.description,
                "periodic": self.periodic, "params": [p.describe() for p in self.params]}


# the ground of a style that lays inks on a field (dots, motifs, a gingham's check): RenderContext.ground_index
GROUND = Param("ground", str, "lightest", "Which palette colour is the ground: the lightest, the darkest, or the "
               "palette's first.", choices=("lightest", "darkest", "first"))
