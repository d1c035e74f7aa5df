"""The response of a paired handler: body, success statuses, media types, headers (rules
27-38, 39-43 on the response side).

Input: the old and new `HandlerContract` and both contracts' named types. Output: findings.
Every response the new encoder produces must be valid for an old client.
"""

from __future__ import annotations

from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.diff.model import Finding
from gati_compiler.timescape.diff.request import swapped
from gati_compiler.timescape.diff.schema import Compare
from gati_compiler.timescape.diff.shapes import TypeMemo


def compare_response(
    o: HandlerContract, n: HandlerContract, old: ApiContract, new: ApiContract, memo: TypeMemo | None = None
) -> list[Finding]:
    out: list[Finding] = []
    cmp = Compare(old.gtypes, new.gtypes, n.handlerId, "response", n.source, out, memo=memo)
    path = "response.body"
    if o.response is not None and n.response is None:
        cmp.emit("response-property-type-changed", path, cmp.describe(o.response), None, "is empty now")
    elif o.response is not None and n.response is not None:
        pair = swapped(cmp, o.response, n.response)
        if pair is not None:
            cmp.emit(
                "response-type-swapped", path, pair[0], pair[1], f"the model `{pair[0]}` was replaced by `{pair[1]}`"
            )
        else:
            cmp.compare(o.response, n.response, path)
    for status in o.successStatuses:
        if status not in n.successStatuses:
            cmp.emit(
                "response-success-status-removed",
                "response.status",
                status,
                list(n.successStatuses),
                f"{status} is no longer answered",
            )
    for status in n.successStatuses:
        if status not in o.successStatuses:
            cmp.emit("response-success-status-added", "response.status", None, status, f"{status} may be answered now")
    o_types, n_types = o.media_types("response"), n.media_types("response")
    for mt in o_types:
        if n_types and mt not in n_types:
            cmp.emit("response-media-type-removed", "response.content", mt, None, f"`{mt}` is no longer produced")
    for mt in n_types:
        if o_types and mt not in o_types:
            cmp.emit("response-media-type-added", "response.content", None, mt, f"`{mt}` may be produced now")
    new_headers = {h.name.lower(): h for h in n.responseHeaders or ()}
    for h in o.responseHeaders or ():
        where = f"response.header.{h.name}"
        nh = new_headers.get(h.name.lower())
        if nh is None:
            rid = "required-response-header-removed" if h.required else "optional-response-header-removed"
            cmp.emit(rid, where, h.name, None, "is no longer sent")
        elif h.required and not nh.required:
            cmp.emit("response-header-became-optional", where, True, False, "may be missing now")
    return out
