"""Canonical YAML for Kubernetes objects: block style, keys in the order the emitter built them,
strings quoted only when YAML would read them as something else, no aliases, `\\n` line ends.

Input: plain dicts, lists and scalars. Output: text that is byte-identical for equal input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """SafeDumper that never writes anchors and keeps multi-line strings readable."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _dict(dumper: yaml.SafeDumper, value: Mapping[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(value.items()))


_Dumper.add_representer(str, _str)
_Dumper.add_representer(dict, _dict)


def dump_yaml(obj: object) -> str:
    """One YAML document, keys in insertion order (emitters build them in Kubernetes' usual order)."""
    text = yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=100)
    return str(text)


def dump_documents(objs: Iterable[object]) -> str:
    """Several documents separated by `---`."""
    return "---\n".join(dump_yaml(o) for o in objs)


def load_documents(text: str) -> list[Any]:
    """The documents of a YAML stream (safe loader), empty ones dropped."""
    return [d for d in yaml.safe_load_all(text) if d is not None]
