"""Path, query and header parameters of a paired handler (rules 6-12).

Input: the old and new `HandlerContract` and both contracts' named types. Output: findings.
Each parameter set is an object GType (a property per parameter); a handler without one has
no parameters of that kind.
"""

from __future__ import annotations

from gati_compiler.ir.gtype import GType, ObjectType
from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.diff.model import Finding
from gati_compiler.timescape.diff.schema import Compare, Flavor
from gati_compiler.timescape.diff.shapes import TypeMemo

_EMPTY: GType = ObjectType()


def compare_parameters(
    o: HandlerContract, n: HandlerContract, old: ApiContract, new: ApiContract, memo: TypeMemo | None = None
) -> list[Finding]:
    out: list[Finding] = []
    parts: tuple[tuple[Flavor, GType | None, GType | None], ...] = (
        ("path", o.params, n.params),
        ("query", o.query, n.query),
        ("header", o.headers, n.headers),
    )
    for flavor, og, ng in parts:
        if og is None and ng is None:
            continue
        cmp = Compare(old.gtypes, new.gtypes, n.handlerId, "request", n.source, out, flavor=flavor, memo=memo)
        cmp.compare(og or _EMPTY, ng or _EMPTY, f"request.{flavor}")
    return out
