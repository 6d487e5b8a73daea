"""Where mappings come from: bundled YAML presets, mapping files, and deep-merged overrides.

See :func:`load_mapping`.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from salesinsight.data.importers.problems import ImporterError, _mapping_problem
from salesinsight.data.importers.spec import ImportMapping
from salesinsight.safe_yaml import BoundedSafeLoader, load_yaml_file, shorten

__all__ = [
    "load_mapping",
    "merge_mappings",
    "list_presets",
    "preset_path",
    "preset_dict",
]


class _TextLoader(BoundedSafeLoader):
    """YAML loader that keeps scalars as text (``yes``, ``007``, ``1.0`` stay strings).

    ``~``/null is still ``None``.
    """


_TextLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:null"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml_file(path, encoding="utf-8-sig", loader=_TextLoader)
    except yaml.YAMLError as exc:
        text = shorten(str(exc), 800)
        raise ImporterError([_mapping_problem(f"{path}: not valid YAML: {text}")]) from None
    if not isinstance(data, dict):
        raise ImporterError([_mapping_problem(f"{path}: a mapping file must be a YAML mapping")])
    return data


def list_presets() -> dict[str, str]:
    """Bundled presets: name -> one-line description."""
    out = {}
    for entry in sorted(resources.files(__package__).joinpath("presets").iterdir(), key=str):
        if entry.name.endswith(".yaml"):
            data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_TextLoader)
            out[entry.name[: -len(".yaml")]] = str(data.get("description") or "").split("\n")[0]
    return out


def preset_path(name: str) -> Path:
    """Path of the bundled preset ``name`` (``KeyError`` naming the presets if unknown)."""
    entry = resources.files(__package__).joinpath("presets", f"{name}.yaml")
    if not entry.is_file():
        raise KeyError(f"no preset {name!r}; presets: {', '.join(list_presets())}")
    return Path(str(entry))


def preset_dict(name: str) -> dict[str, Any]:
    """Return the bundled preset ``name`` as a mapping dict (to edit, or to merge overrides onto)."""
    return _read_yaml(preset_path(name))


def merge_mappings(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two mapping dicts: dicts merge key by key, anything else in ``overlay`` replaces.

    A table given as a list of sources in ``base`` receives a dict ``overlay`` on every source.
    """
    out = dict(base)
    for key, value in overlay.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_mappings(old, value)
        elif (
            isinstance(old, list)
            and isinstance(value, dict)
            and all(isinstance(x, dict) for x in old)
        ):
            out[key] = [merge_mappings(x, value) for x in old]
        else:
            out[key] = value
    return out


def load_mapping(
    mapping: str | Path | dict[str, Any] | ImportMapping | None = None,
    *,
    preset: str | None = None,
    overrides: Iterable[dict[str, Any]] = (),
) -> ImportMapping:
    """Build an :class:`ImportMapping` from a preset and/or a YAML file or dict, plus overrides.

    Parameters
    ----------
    mapping : YAML file, mapping dict or parsed mapping. With ``preset``, it is merged onto the
        preset (see :func:`merge_mappings`).
    preset : name of a bundled preset (:func:`list_presets`).
    overrides : further mapping dicts merged in order (e.g. from ``--column`` options).
    """
    if isinstance(mapping, ImportMapping):
        if preset is not None or list(overrides):
            raise ValueError("a parsed ImportMapping cannot be merged; pass dicts or files")
        return mapping
    spec: dict[str, Any] = {}
    name = None
    if preset is not None:
        try:
            spec = preset_dict(preset)
        except KeyError as exc:
            raise ImporterError([_mapping_problem(str(exc.args[0]))]) from None
        name = preset
    if mapping is not None:
        if isinstance(mapping, dict):
            extra = mapping
        else:
            path = Path(mapping)
            if not path.is_file():
                raise ImporterError([_mapping_problem(f"mapping file {path} does not exist")])
            extra = _read_yaml(path)
            name = name or path.stem
        spec = merge_mappings(spec, extra) if spec else dict(extra)
    for o in overrides:
        spec = merge_mappings(spec, o)
    if not spec:
        raise ImporterError([_mapping_problem("give a preset or a mapping")])
    return ImportMapping.from_dict(spec, name=name)
