"""The request body of a paired handler (rules 13-26, 39-43 on the request side).

Input: the old and new `HandlerContract` and both contracts' named types. Output: findings.
The new decoder must accept every body an old client sends.
"""

from __future__ import annotations

from gati_compiler.ir.gtype import GType, ObjectType
from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.diff.model import Finding
from gati_compiler.timescape.diff.schema import Compare
from gati_compiler.timescape.diff.shapes import TypeMemo


def swapped(cmp: Compare, og: GType, ng: GType) -> tuple[str, str] | None:
    """The two model names when the endpoint's model was replaced by an unrelated one: both
    named objects with different names and no wire property in common."""
    o, oref = cmp.resolve(og, True)
    n, nref = cmp.resolve(ng, False)
    if oref is None or nref is None or oref == nref:
        return None
    if not isinstance(o, ObjectType) or not isinstance(n, ObjectType) or not o.properties or not n.properties:
        return None
    if {p.name for p in o.properties} & {p.name for p in n.properties}:
        return None
    return oref, nref


def compare_request(
    o: HandlerContract, n: HandlerContract, old: ApiContract, new: ApiContract, memo: TypeMemo | None = None
) -> list[Finding]:
    out: list[Finding] = []
    cmp = Compare(old.gtypes, new.gtypes, n.handlerId, "request", n.source, out, memo=memo)
    path = "request.body"
    if o.request is None and n.request is not None:
        nullable, _ = cmp.split_null(cmp.resolve(n.request, False)[0], False)
        if not nullable:
            cmp.emit("request-body-added-required", path, None, cmp.describe(n.request), "is new and required")
    elif o.request is not None and n.request is None:
        cmp.emit(
            "request-property-removed", path, cmp.describe(o.request), None, "was removed; old clients still send it"
        )
    elif o.request is not None and n.request is not None:
        o_null, _ = cmp.split_null(cmp.resolve(o.request, True)[0], True)
        n_null, _ = cmp.split_null(cmp.resolve(n.request, False)[0], False)
        pair = swapped(cmp, o.request, n.request)
        if pair is not None:
            cmp.emit(
                "request-type-swapped", path, pair[0], pair[1], f"the model `{pair[0]}` was replaced by `{pair[1]}`"
            )
        elif o_null and not n_null:
            cmp.emit("request-body-became-required", path, False, True, "is required now")
            cmp.side = "request"
            cmp.compare(_strip(cmp, o.request, True), n.request, path)
        else:
            cmp.compare(o.request, n.request, path)
    o_types, n_types = o.media_types("request"), n.media_types("request")
    for mt in o_types:
        if n_types and mt not in n_types:
            cmp.emit("request-body-media-type-removed", "request.content", mt, None, f"`{mt}` is no longer accepted")
    for mt in n_types:
        if o_types and mt not in o_types:
            cmp.emit("request-media-type-added", "request.content", None, mt, f"`{mt}` is also accepted now")
    return out


def _strip(cmp: Compare, g: GType, old: bool) -> GType:
    _, core = cmp.split_null(cmp.resolve(g, old)[0], old)
    return core if core is not None else g
