"""The diff engine's entry point: `diff_contracts(old, new, today=...)`, a pure function.

Input: two `ApiContract`s and the day the comparison is made (sunset dates are held against
it). Output: every `Finding`, sorted by (handler, side, path, rule). No I/O.

Handlers are paired by id; an old handler whose id is gone is paired with a new handler on
the same method and route (path parameters unnamed), which is a rename for the SDK only
(rule 46). What is left unpaired was removed or added. Each pair is compared at operation
level here, then side by side (`parameters`, `request`, `response`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Final

from gati_compiler.ir.models import SourceRef
from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.diff.model import RULES, Finding
from gati_compiler.timescape.diff.parameters import compare_parameters
from gati_compiler.timescape.diff.request import compare_request
from gati_compiler.timescape.diff.response import compare_response
from gati_compiler.timescape.diff.shapes import TypeMemo

_PARAM: Final = re.compile(r"\{[^}]*\}")
_STABILITY_RANK: Final = {"alpha": 0, "beta": 1, "stable": 2, None: 2}


def route_key(method: str, path: str) -> tuple[str, str]:
    return method, _PARAM.sub("{}", path)


def finding(
    rule_id: str, h: HandlerContract, path: str, old: object, new: object, detail: str, source: SourceRef | None = None
) -> Finding:
    rule = RULES[rule_id]
    return Finding(
        rule=rule_id,
        level=rule.level,
        category=rule.category,
        handler=h.handlerId,
        side=rule.side,
        path=path,
        old=old,  # type: ignore[arg-type]
        new=new,  # type: ignore[arg-type]
        source=source or h.source,
        message=f"{rule.title}: {detail}",
    )


def diff_contracts(old: ApiContract, new: ApiContract, *, today: date) -> list[Finding]:
    """Every change between `old` and `new`, classified for a client of `old`."""
    out: list[Finding] = []
    old_by = {h.handlerId: h for h in old.handlers}
    new_by = {h.handlerId: h for h in new.handlers}
    pairs: list[tuple[HandlerContract, HandlerContract]] = []
    gone = [h for hid, h in old_by.items() if hid not in new_by]
    fresh = {route_key(h.method, h.path): h for hid, h in new_by.items() if hid not in old_by}
    for hid, h in old_by.items():
        if hid in new_by:
            pairs.append((h, new_by[hid]))
    removed: list[HandlerContract] = []
    for h in gone:
        match = fresh.pop(route_key(h.method, h.path), None)
        if match is None:
            removed.append(h)
        else:
            pairs.append((h, match))
    new_paths = {route_key("", h.path)[1] for h in new.handlers}
    for h in removed:
        out.append(_removal(h, route_key("", h.path)[1] in new_paths, today))
    for h in fresh.values():
        out.append(finding("endpoint-added", h, "op", None, f"{h.method} {h.path}", f"{h.method} {h.path} is new"))
    memo = TypeMemo(old.gtypes, new.gtypes)
    for o, n in pairs:
        out.extend(compare_handler(o, n, old, new, memo))
    out.sort(key=lambda f: f.sort_key)
    return out


def _removal(h: HandlerContract, path_still_served: bool, today: date) -> Finding:
    return replace(_removal_rule(h, path_still_served, today), in_old=True)


def _removal_rule(h: HandlerContract, path_still_served: bool, today: date) -> Finding:
    what = f"{h.method} {h.path}"
    if h.sunset is not None:
        if date.fromisoformat(h.sunset) <= today:
            return finding(
                "api-removed-after-sunset", h, "op", what, None, f"{what} removed after its sunset {h.sunset}"
            )
        return finding("api-removed-before-sunset", h, "op", what, None, f"{what} removed before its sunset {h.sunset}")
    if h.deprecated:
        return finding("api-deprecated-removed", h, "op", what, None, f"deprecated {what} removed")
    rid = "api-removed-without-deprecation" if path_still_served else "api-path-removed-without-deprecation"
    detail = f"{what} was removed without being deprecated first"
    return finding(rid, h, "op", what, None, detail + ("" if path_still_served else f"; nothing serves {h.path} now"))


def compare_handler(
    o: HandlerContract, n: HandlerContract, old: ApiContract, new: ApiContract, memo: TypeMemo | None = None
) -> list[Finding]:
    memo = memo or TypeMemo(old.gtypes, new.gtypes)
    out: list[Finding] = []
    out.extend(_operation(o, n))
    out.extend(compare_parameters(o, n, old, new, memo))
    out.extend(compare_request(o, n, old, new, memo))
    out.extend(compare_response(o, n, old, new, memo))
    return out


def _operation(o: HandlerContract, n: HandlerContract) -> list[Finding]:
    out: list[Finding] = []
    sdk_old = f"{o.module}:{o.function} ({o.handlerId})"
    sdk_new = f"{n.module}:{n.function} ({n.handlerId})"
    if sdk_old != sdk_new:
        out.append(
            finding(
                "sdk-operation-renamed",
                n,
                "sdk",
                sdk_old,
                sdk_new,
                f"SDK callers import {sdk_old}; it is {sdk_new} now",
            )
        )
    if o.method != n.method:
        out.append(finding("api-method-changed", n, "op", o.method, n.method, f"{o.method} {o.path} is {n.method} now"))
    # a path that differs by a new segment parameter is reported by `parameters` (rule 6)
    if route_key("", o.path) != route_key("", n.path) and len(n.pathParams) <= len(o.pathParams):
        out.append(
            finding(
                "api-removed-without-deprecation",
                n,
                "op",
                f"{o.method} {o.path}",
                f"{n.method} {n.path}",
                f"{o.method} {o.path} moved to {n.path}; old clients call the old path",
            )
        )
    if not o.deprecated and n.deprecated:
        out.append(finding("api-deprecated", n, "op", False, True, f"{n.method} {n.path} is deprecated now"))
    if o.sunset is not None and n.deprecated:
        if n.sunset is None:
            out.append(
                finding("api-sunset-date-deleted", n, "op", o.sunset, None, f"the sunset date {o.sunset} was deleted")
            )
        elif n.sunset < o.sunset:
            out.append(
                finding(
                    "api-sunset-date-changed-too-small",
                    n,
                    "op",
                    o.sunset,
                    n.sunset,
                    f"the sunset moved earlier, from {o.sunset} to {n.sunset}",
                )
            )
    ro, rn = _STABILITY_RANK[o.stability], _STABILITY_RANK[n.stability]
    if rn < ro:
        out.append(
            finding(
                "api-stability-decreased",
                n,
                "op",
                o.stability or "stable",
                n.stability,
                f"stability is {n.stability} now",
            )
        )
    elif rn > ro:
        out.append(
            finding("api-stability-increased", n, "op", o.stability, n.stability or "stable", "stability raised")
        )
    if o.streaming != n.streaming:
        kind = ("unary", "stream")
        out.append(
            finding(
                "api-streaming-changed",
                n,
                "op",
                kind[o.streaming],
                kind[n.streaming],
                f"the response was {kind[o.streaming]}, is {kind[n.streaming]} now",
            )
        )
    if n.authRequired and not o.authRequired:
        out.append(
            finding(
                "api-security-added", n, "op", [], list(n.roles), f"callers now need one of the roles {list(n.roles)}"
            )
        )
    elif o.authRequired and n.authRequired and not set(o.roles) <= set(n.roles):
        lost = sorted(set(o.roles) - set(n.roles))
        out.append(
            finding(
                "api-security-added", n, "op", list(o.roles), list(n.roles), f"the roles {lost} no longer give access"
            )
        )
    return out
