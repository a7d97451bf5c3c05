"""The machinery behind the config: typed values from YAML, ``--set`` overrides, unknown keys.

Generic over dataclasses, so :mod:`astgan.config.sections` holds only the sections and their rules.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal

import yaml

from astgan.errors import ConfigError


def fail(key: str, message: str) -> None:
    raise ConfigError(f"config key '{key}': {message}")


def require_positive(section: str, obj: Any, *names: str) -> None:
    """Fail on the first of ``obj``'s fields ``names`` that is set and not > 0."""
    for name in names:
        value = getattr(obj, name)
        if value is not None and value <= 0:
            fail(f"{section}.{name}", f"must be > 0, got {value}")


def require_range(key: str, value: tuple[float, float], low: float, high: float) -> None:
    """Fail unless ``value`` is [min, max] with low <= min <= max <= high."""
    a, b = value
    if not (low <= a <= b <= high):
        fail(key, f"must be [min, max] with {low} <= min <= max <= {high}, got {list(value)}")


def unknown_key(key: str, valid: list[str]) -> None:
    name = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
    fail(key, f"unknown key.{hint} Valid keys: {', '.join(prefix + v for v in valid)}")


def build_section(section_type: type, name: str, body: Any) -> Any:
    if body is None:
        return section_type()
    if not isinstance(body, dict):
        fail(name, f"expected a mapping of keys, got {body!r}")
    hints = typing.get_type_hints(section_type)
    valid = [f.name for f in dataclasses.fields(section_type)]
    kwargs = {}
    for key, value in body.items():
        if key not in hints:
            unknown_key(f"{name}.{key}", valid)
        kwargs[key] = coerce(f"{name}.{key}", value, hints[key])
    return section_type(**kwargs)


def coerce(key: str, value: Any, annotation: Any) -> Any:
    """Convert a YAML value to the annotated type, or fail naming the key and the expected type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(key, value, inner[0])
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            fail(key, f"must be one of {', '.join(map(str, args))}, got '{value}'.{hint}")
        return value
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:  # tuple[float, ...]: any length
        if not isinstance(value, (list, tuple)) or not value:
            fail(key, f"expected a non-empty list, got {value!r}")
        return tuple(coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            fail(key, f"expected a list of {len(args)} numbers, got {value!r}")
        return tuple(coerce(f"{key}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args)))
    if dataclasses.is_dataclass(annotation):  # a section inside a section: study.slurm
        return build_section(annotation, key, value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        fail(key, f"expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        fail(key, f"expected an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads '1e-4' (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        fail(key, f"expected a number, got {value!r}")
    if annotation is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        fail(key, f"expected a string, got {value!r}")
    raise TypeError(f"unsupported config annotation {annotation!r} for {key}")


def parse_overrides(overrides: list[str] | tuple[str, ...]) -> dict:
    """Turn ``["gan.epochs=5", "ast.pretrained=null"]`` into a nested dict of YAML-parsed values."""
    nested: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set '{item}': expected section.key=value, e.g. gan.epochs=5")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) not in (2, 3) or not all(parts):  # three: a key of a section inside a section (study.slurm)
            raise ConfigError(f"--set '{item}': expected section.key=value, e.g. gan.epochs=5")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"--set '{item}': {'.'.join(parts[:-1])} is set to a value by another --set")
        target[parts[-1]] = value
    return nested


def merge(base: dict, extra: dict) -> dict:
    """Section-wise merge: keys in ``extra`` replace those in ``base``; a mapping inside a section
    (``study.slurm``) is merged the same way, key by key."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, body in extra.items():
        if isinstance(body, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], body)
        else:
            merged[key] = body
    return merged
