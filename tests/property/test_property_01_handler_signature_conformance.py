"""Property 1, handler signature conformance: the compiler accepts a handler exactly when it takes
`(req: Request[...], res: Response[...], lctx: LocalContext, gctx: GlobalContext)` positionally
(sync or async, names free, the types imported under any alias or through the module, extra keyword-only parameters only
with defaults) and returns `None`; anything else is a GATI103 diagnostic on the handler's lines.
The runtime then calls an accepted handler with the four objects of those types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min import GlobalContext, LocalContext, Request, Response
from gati_runtime_min.testing import run_handler_sync
from tests.unit.conftest import project_from_sources

WANTED: Final = ("Request", "Response", "LocalContext", "GlobalContext")
ANNOTATIONS: Final = (*WANTED, "int", "dict[str, int]", None)
ARGS: Final = {"Request": "[None]", "Response": "[None]", "LocalContext": "", "GlobalContext": ""}


@dataclass(frozen=True)
class Param:
    name: str
    annotation: str | None
    keyword_only: bool
    default: bool


@dataclass(frozen=True)
class Signature:
    params: tuple[Param, ...]
    returns: str | None  # "None", "int" or no annotation
    is_async: bool
    aliases: dict[str, str]  # runtime name -> how the source spells it

    @property
    def valid(self) -> bool:
        positional = [p for p in self.params if not p.keyword_only]
        keyword = [p for p in self.params if p.keyword_only]
        return (
            [p.annotation for p in positional] == list(WANTED)
            and all(p.default for p in keyword)
            and self.returns in (None, "None")
        )

    def source(self) -> str:
        imports = "".join(
            f", {n} as {a}" if a != n else f", {n}" for n, a in sorted(self.aliases.items()) if "." not in a
        )
        params = []
        star = False
        for p in self.params:
            if p.keyword_only and not star:
                params.append("*")
                star = True
            text = p.name
            if p.annotation in ARGS:
                text += f": {self.aliases[p.annotation]}{ARGS[p.annotation]}"
            elif p.annotation is not None:
                text += f": {p.annotation}"
            if p.default:
                text += " = None" if p.annotation is None else " = 0" if p.annotation == "int" else " = {}"
            params.append(text)
        returns = f" -> {self.returns}" if self.returns else ""
        prefix = "async def" if self.is_async else "def"
        return (
            "from __future__ import annotations\n\n"
            "import gati_runtime_min as grt\n"
            f"from gati_runtime_min import get{imports}\n\n\n"
            '@get("/x")\n'
            f"{prefix} x({', '.join(params)}){returns}:\n"
            "    pass\n"
        )


NAMES = st.text("abcdefgh", min_size=1, max_size=4)


@st.composite
def signatures(draw: st.DrawFn) -> Signature:
    near_miss = draw(st.booleans())  # half the time: the right four, then maybe one change
    if near_miss:
        annotations: list[str | None] = list(WANTED)
        change = draw(st.integers(0, 5))
        if change == 1:
            i, j = draw(st.permutations(range(4)))[:2]
            annotations[i], annotations[j] = annotations[j], annotations[i]
        elif change == 2:
            annotations[draw(st.integers(0, 3))] = draw(st.sampled_from(ANNOTATIONS))
        elif change == 3:
            del annotations[draw(st.integers(0, 3))]
        elif change == 4:
            annotations.insert(draw(st.integers(0, 4)), draw(st.sampled_from(ANNOTATIONS)))
    else:
        annotations = draw(st.lists(st.sampled_from(ANNOTATIONS), max_size=6))
    params = [Param(f"p{i}_{draw(NAMES)}", a, False, False) for i, a in enumerate(annotations)]
    # defaults on positional parameters must come last; keep positional ones without defaults
    for i in range(draw(st.integers(0, 2))):
        params.append(Param(f"k{i}", draw(st.sampled_from(["int", None])), True, draw(st.booleans())))
    aliases = {n: draw(st.sampled_from([n, f"{n}_alias", f"grt.{n}"])) for n in WANTED}
    return Signature(tuple(params), draw(st.sampled_from([None, "None", "int"])), draw(st.booleans()), aliases)


@given(sig=signatures())
def test_property_1_handler_signature_conformance(tmp_path_factory: Any, sig: Signature) -> None:
    source = sig.source()
    result = project_from_sources(tmp_path_factory.mktemp("p1"), {"app/handlers.py": source})
    codes = [d.code for d in result.diagnostics]
    if sig.valid:
        assert codes == [], (source, codes)
        assert result.program is not None and [h.handlerId for h in result.program.handlers] == ["x"]
        assert result.program.handlers[0].isAsync is sig.is_async
    else:
        assert codes == ["GATI103"], (source, codes)
        (d,) = result.diagnostics
        first = source.splitlines().index('@get("/x")') + 1
        assert d.span.path == "app/handlers.py" and first <= d.span.line <= first + 2


def test_property_1_runtime_calls_handlers_with_the_four_contexts() -> None:
    seen: list[tuple[type, ...]] = []

    def sync_handler(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
        seen.append((type(req), type(res), type(lctx), type(gctx)))

    async def async_handler(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
        seen.append((type(req), type(res), type(lctx), type(gctx)))

    run_handler_sync(sync_handler)
    run_handler_sync(async_handler)
    assert seen == [(Request, Response, LocalContext, GlobalContext)] * 2
