"""A study's config: validated against the config schema shipped with the package, with the schema's defaults.

The schema (``intraclass/schemas/config.schema.yaml``, package data, the workflow's too) is the one place where every
key's range and default is written. :func:`resolve_config` is the one function that applies those defaults: the
workflow calls it on the study it reads (``config.yaml`` when no ``--configfile`` is given, else the given files
alone), so what a study leaves out comes from the schema and never from another study.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_RESOURCE = "schemas/config.schema.yaml"
"""The config schema, relative to the ``intraclass`` package."""


class ConfigError(ValueError):
    """A study's config breaks the schema; the message names every offending key and value."""


def resolve_config(study: Mapping[str, Any]) -> dict[str, Any]:
    """The study's config checked against the schema, with every key it leaves out set to the schema's default.

    Parameters
    ----------
    study : mapping
        The study as read from its YAML file(s); not modified.

    Returns
    -------
    dict
        A new config: ``study``'s values, and the schema's ``default`` for every key absent from it, in nested
        blocks too (a block absent from the study is first set to its own default, usually ``{}``, then filled).

    Raises
    ------
    ConfigError
        If the study, or a default it takes, breaks the schema: one line per error, naming the key's path and the
        value (e.g. ``experiments[0].base.lr: -0.1 is less than or equal to the minimum of 0``).
    """
    if not isinstance(study, Mapping):
        raise ConfigError(f"config: a study is a mapping of keys to values, got {type(study).__name__} {study!r}")
    resolved = copy.deepcopy(dict(study))
    errors = sorted(_validator().iter_errors(resolved), key=lambda error: list(map(str, error.absolute_path)))
    if errors:
        lines = [f"{_key_path(error.absolute_path)}: {error.message}" for error in errors]
        raise ConfigError("config breaks the schema (intraclass/" + SCHEMA_RESOURCE + "):\n  " + "\n  ".join(lines))
    return resolved


def config_schema() -> dict[str, Any]:
    """The config schema (a fresh copy: callers may change it)."""
    return copy.deepcopy(_schema())


@cache
def _schema() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(resources.files("intraclass").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8"))


@cache
def _validator() -> Any:
    """A Draft 2020-12 validator that, while it checks an object's ``properties``, first sets each absent one to its
    default (copied, so that no two configs share a default list or block), so that defaults are checked too."""
    import jsonschema

    properties = jsonschema.Draft202012Validator.VALIDATORS["properties"]

    def fill_defaults(validator: Any, schema_properties: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "object"):
            for name, subschema in schema_properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from properties(validator, schema_properties, instance, schema)

    filling = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": fill_defaults})
    return filling(_schema())


def _key_path(path: Any) -> str:
    """``experiments[0].base.lr`` for jsonschema's path ``['experiments', 0, 'base', 'lr']``; empty: top level."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return text or "(top level)"
