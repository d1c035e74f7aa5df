"""Canonical YAML for Kubernetes objects: block style, keys in the order the emitter built them,
strings quoted only when YAML would read them as something else, no aliases, `\\n` line ends.

Input: plain dicts, lists and scalars. Output: text that is byte-identical for equal input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import yaml

# libyaml's emitter when PyYAML has it (every wheel does): the pure-Python one spends seconds on a
# ConfigMap of a few megabytes. Both write the same text for what the bundle holds.
_Base: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[misc]
    """SafeDumper that never writes anchors and keeps multi-line strings readable."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: Any, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    node: yaml.ScalarNode = dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return node


def _dict(dumper: Any, value: Mapping[str, Any]) -> yaml.MappingNode:
    node: yaml.MappingNode = dumper.represent_mapping("tag:yaml.org,2002:map", list(value.items()))
    return node


_Dumper.add_representer(str, _str)
_Dumper.add_representer(dict, _dict)


def dump_yaml(obj: object) -> str:
    """One YAML document, keys in insertion order (emitters build them in Kubernetes' usual order)."""
    text = yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 20)
    return str(text)


def dump_string_map_last(obj: Mapping[str, Any], key: str) -> str:
    """`obj` with its last entry `key`, a map of strings, written as JSON string literals (each a
    valid YAML double-quoted scalar). A ConfigMap of a few megabytes of manifests then costs
    a few milliseconds instead of a YAML emitter's pass over every character; same document."""
    head = {k: v for k, v in obj.items() if k != key}
    assert list(obj)[-1] == key, "the string map must be the last entry"
    lines = [dump_yaml(head), f"{key}:", *(f"  {_quote(k)}: {_quote(v)}" for k, v in obj[key].items())]
    return "\n".join(lines) + "\n" if obj[key] else dump_yaml(obj)


def _quote(value: str) -> str:
    return orjson.dumps(value).decode()


def dump_documents(objs: Iterable[object]) -> str:
    """Several documents separated by `---`."""
    return "---\n".join(dump_yaml(o) for o in objs)


def load_documents(text: str) -> list[Any]:
    """The documents of a YAML stream (safe loader), empty ones dropped."""
    return [d for d in yaml.safe_load_all(text) if d is not None]
