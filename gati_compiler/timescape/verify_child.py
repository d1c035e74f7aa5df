"""The child process of transformer verification: runs user transformers on generated values.

Input: a job file written by `timescape.verify` (JSON: the project's source roots, the folder of
the generated checking validators, and one job per transformer). Output: one JSON document on
stdout, `{"results": [{"job": i, "ok": bool, "examples": n, "input": ..., "output": ...,
"problem": str}]}`. It imports the app's transformer modules, which is why it is a separate
process: the compiler itself never imports user code.

Per job, hypothesis draws wire values of the transformer's input shape (`verify_values`),
keeps those the input side's generated decoder accepts (a valid request of the old version, or a
valid response of the new one), runs the transformer on a copy and checks its result with the
output side's decoder. A failure is shrunk by hypothesis and reported with the input that broke it.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from gati_compiler.ir.canonical import load_gtype
from gati_compiler.ir.gtype import GType
from gati_compiler.timescape.verify_values import wire_values

Check = Callable[[Any], str | None]


def _wire_string(value: Any) -> Any:
    """A query, path or header value as the wire carries it: a string (a list of them when repeated)."""
    if isinstance(value, list):
        return [_wire_string(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _part_strategy(part: str, root: Any, gtypes: Mapping[str, GType]) -> st.SearchStrategy[Any]:
    values = wire_values(load_gtype(root), gtypes)
    if part in ("body", "response"):
        return values
    return values.map(lambda d: {k: _wire_string(v) for k, v in d.items()} if isinstance(d, dict) else d)


def _load_validators(folder: Path, name: str) -> Any:
    init = folder / name / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        f"_gati_verify_{name}", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _checker(module: Any, handler: str, parts: tuple[str, ...]) -> Check:
    """Accepts a wire request (a dict of parts) or, with parts == ("response",), a response body."""
    codec = module.HANDLERS[handler]
    error = module.DecodeError
    if parts == ("response",):
        respond = module.RESPONSES[handler]

        def check_response(value: Any) -> str | None:
            try:
                respond(value)
            except error as exc:
                return f"$: {exc}"
            return None

        return check_response

    def check(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"the request is {type(value).__name__}, not a dict of parts"
        extra = sorted(set(value) - set(parts))
        if extra:
            return f"parts the version does not have: {', '.join(extra)}"
        for part in parts:
            got = value.get(part)
            decoder = getattr(codec, f"decode_{part}", None)
            if decoder is None:
                continue
            try:
                decoder(got if got is not None or part == "body" else {})
            except error as exc:
                return f"$.{part}: {exc}"
        return None

    return check


class _Broke(Exception):
    def __init__(self, input: Any, output: Any, problem: str) -> None:
        super().__init__(problem)
        self.input, self.output, self.problem = input, output, problem


def _run(job: Mapping[str, Any], folder: Path, max_examples: int) -> dict[str, Any]:
    module_name, _, fn_name = str(job["transformer"]).partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), fn_name)
    except Exception as exc:  # the user's module: any failure is reported, never raised
        return {"ok": False, "examples": 0, "problem": f"cannot import: {type(exc).__name__}: {exc}", "setup": True}
    accepts = _checker(_load_validators(folder, job["inputModule"]), job["inputHandler"], tuple(job["inputParts"]))
    produces = _checker(_load_validators(folder, job["outputModule"]), job["outputHandler"], tuple(job["outputParts"]))
    gtypes = {ref: load_gtype(g) for ref, g in job["types"].items()}
    roots: Mapping[str, Any] = job["roots"]
    if tuple(job["inputParts"]) == ("response",):
        strategy: st.SearchStrategy[Any] = _part_strategy("response", roots["response"], gtypes)
    else:
        strategy = st.fixed_dictionaries({p: _part_strategy(p, r, gtypes) for p, r in roots.items()})
    seen = [0]

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )
    @given(value=strategy)
    def prove(value: Any) -> None:
        assume(accepts(value) is None)
        seen[0] += 1
        try:
            out = fn(copy.deepcopy(value))
        except Exception as exc:
            raise _Broke(value, None, f"raised {type(exc).__name__}: {exc}") from None
        problem = produces(out)
        if problem is not None:
            raise _Broke(value, out, problem)

    try:
        prove()
    except _Broke as broke:
        return {
            "ok": False,
            "examples": seen[0],
            "input": broke.input,
            "output": broke.output,
            "problem": broke.problem,
        }
    except Unsatisfiable:
        return {"ok": True, "examples": 0}
    return {"ok": True, "examples": seen[0]}


def main(argv: list[str]) -> int:
    job_file = Path(argv[0])
    doc = json.loads(job_file.read_text("utf-8"))
    for root in reversed(doc["sourceRoots"]):
        if root not in sys.path:
            sys.path.insert(0, root)
    folder = Path(doc["validators"])
    results = []
    for i, job in enumerate(doc["jobs"]):
        result = _run(job, folder, int(doc.get("maxExamples", 100)))
        results.append({"job": i, **result})
    sys.stdout.write(json.dumps({"results": results}, default=repr))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
