"""One experiment's config: every section, YAML in and out, ``--set`` overrides, the packaged configs.

A config file is a YAML mapping of sections (``data``, ``features``, ``split``, ``gan``, ``synth``,
``ast``, ``eval``, ``study``, ``run``) to their keys. Missing sections and keys take their defaults
(:mod:`astgan.config.sections`, :mod:`astgan.config.gan`). Every key is checked before any work
starts: an unknown key names the closest valid one, a wrong type names the expected type, an
impossible value says what is allowed.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from astgan.artifacts import write_text
from astgan.config import sections
from astgan.config.gan import GanConfig
from astgan.config.values import build_section, fail, merge, parse_overrides, unknown_key
from astgan.errors import ConfigError
from astgan.paths import RunPaths

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


@dataclass
class Config:
    """One experiment: every command reads it, and the resolved copy is saved in the run folder.

    One field per section (:mod:`astgan.config.sections`, :mod:`astgan.config.gan`)."""

    data: sections.DataConfig = field(default_factory=sections.DataConfig)
    features: sections.FeaturesConfig = field(default_factory=sections.FeaturesConfig)
    split: sections.SplitConfig = field(default_factory=sections.SplitConfig)
    gan: GanConfig = field(default_factory=GanConfig)
    synth: sections.SynthConfig = field(default_factory=sections.SynthConfig)
    ast: sections.AstConfig = field(default_factory=sections.AstConfig)
    eval: sections.EvalConfig = field(default_factory=sections.EvalConfig)
    study: sections.StudyConfig = field(default_factory=sections.StudyConfig)
    run: sections.RunConfig = field(default_factory=sections.RunConfig)

    def check(self) -> Config:
        """Validate every section and the rules that span sections; returns self."""
        for section in dataclasses.fields(self):
            getattr(self, section.name).check()
        if self.features.segment_hop > self.features.segment_frames:
            fail(
                "features.segment_hop",
                f"must be <= features.segment_frames={self.features.segment_frames}, got {self.features.segment_hop}",
            )
        if self.ast.patch_size > min(self.features.n_mels, self.features.segment_frames):
            fail("ast.patch_size", f"must fit in a segment of {self.features.n_mels} x {self.features.segment_frames}")
        if self.ast.pretrained and self.features.n_mels != 128:
            fail("features.n_mels", f"a pretrained AST reads 128 mel bins, got {self.features.n_mels}")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.run.dir)

    @property
    def paths(self) -> RunPaths:
        """Every path of this run's folder (see :class:`astgan.paths.RunPaths`)."""
        return RunPaths(self.run_dir)

    def with_overrides(self, *overrides: str) -> Config:
        """A checked copy with ``section.key=value`` overrides applied, e.g. ``cfg.with_overrides("run.seed=3")``."""
        return Config.from_dict(merge(self.to_dict(), parse_overrides(overrides)), source="overrides")

    def to_dict(self) -> dict:
        """Plain nested dict (tuples become lists) for YAML and checkpoints."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, raw: dict, source: str = "config") -> Config:
        """Build and check a config from a nested mapping; unknown keys are errors."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
        sections = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for name, body in raw.items():
            if name not in sections:
                unknown_key(str(name), list(sections))
            section_type = typing.get_type_hints(cls)[name]
            values[name] = build_section(section_type, name, body)
        return cls(**values).check()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- packaged configs


def packaged_configs() -> dict[str, Traversable]:
    """The configs shipped inside the package (``astgan/configs/*.yaml``): name -> file."""
    folder = importlib.resources.files("astgan") / "configs"
    return {entry.name[: -len(".yaml")]: entry for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def config_text(name_or_path: str | Path) -> tuple[str, str]:
    """(YAML text, where it came from) of a config file, or of a packaged config by name.

    A file at the given path wins over a packaged config of the same name (``demo`` or
    ``demo.yaml``); an unknown name lists the packaged ones.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(), str(path)
    packaged = packaged_configs()
    name = path.name[: -len(".yaml")] if path.name.endswith(".yaml") else path.name
    if path.parent == Path(".") and name in packaged:
        return packaged[name].read_text(), f"packaged config '{name}'"
    raise ConfigError(f"config file not found: {name_or_path}. Give a YAML file, or the name of a packaged "
                      f"config: {', '.join(sorted(packaged))} (`astgan config show NAME` prints one)")


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML config (a file, a packaged config's name, or the defaults when ``path`` is None)
    and apply ``--set`` overrides."""
    raw: dict = {}
    source = "defaults"
    if path is not None:
        text, source = config_text(path)
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: not valid YAML ({err})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Config.from_dict(merge(raw, parse_overrides(overrides)), source=source)
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def config_to_yaml(config: Config) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def save_run_config(config: Config) -> Path:
    """Write the resolved config into its run folder as ``config.yaml`` (atomically)."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    return write_text(config.paths.config, config_to_yaml(config))
