"""Real-world corpora: large typed packages from PyPI built as project source (issue 11).

A corpus is one wheel, pinned by exact version, downloaded once into a cache folder with pip and
extracted there (never committed). `make_project` copies its package into a fresh project next to
a generated handlers module: one handler per sampled type (TypedDicts and pydantic models found by
`ast`), taking it as its request body. `run_corpus` builds that project and reports, per corpus:
the sampled types built without a diagnostic, the diagnostics by code, the differential against
pydantic strict JSON on sampled documents (when the package imports), and the cold build time
against `ast.parse` of the same files.

    from benchmarks.fidelity.corpus import CORPORA, run_corpus
"""

from __future__ import annotations

import ast
import importlib
import json
import random
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.fidelity.uses import Uses, definitions
from gati_compiler.ir.gtype import (
    ArrayType,
    GType,
    IntersectionType,
    MapType,
    ObjectType,
    RefType,
    TupleType,
    UnionType,
)
from gati_compiler.ir.models import Program
from gati_compiler.pipeline import BuildResult, build

DEFAULT_CACHE = Path.home() / ".cache" / "gati-corpora"
HANDLERS_MODULE = "gati_corpus_handlers"


@dataclass(frozen=True)
class Corpus:
    dist: str  # the PyPI name
    version: str  # exact pin
    package: str  # the import package inside the wheel
    # the package's own runtime dependencies, pinned, installed beside it only for the
    # differential (pydantic must import the real classes); the build never needs them
    runtime: tuple[str, ...] = ()


CORPORA: dict[str, Corpus] = {
    c.dist: c
    for c in (
        Corpus(
            "mypy-boto3-ec2",
            "1.43.118",
            "mypy_boto3_ec2",
            ("botocore==1.44.5", "jmespath==1.1.0", "python-dateutil==4.0.0", "six==1.17.0"),
        ),
        Corpus("openai", "3.51.0", "openai", ("httpx2==2.16.2", "jiter==0.19.0", "sniffio==1.3.1")),
        Corpus(
            "anthropic",
            "2.10.0",
            "anthropic",
            ("httpx2==2.16.2", "jiter==0.19.0", "docstring-parser==0.18.0", "sniffio==1.3.1"),
        ),
    )
}


def fetch(corpus: Corpus, cache: Path = DEFAULT_CACHE) -> Path:
    """The extracted wheel's folder (downloaded and extracted once per pinned version)."""
    target = cache / f"{corpus.dist}-{corpus.version}"
    done = target / ".extracted"
    if done.is_file():
        return target
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    pattern = f"{corpus.package}-{corpus.version}-*.whl"
    if not list(wheels.glob(pattern)):
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"),
                *(f"{corpus.dist}=={corpus.version}", "-d", str(wheels)),
            ],
            check=True,
        )
    (wheel,) = wheels.glob(pattern)
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    done.write_text(wheel.name, encoding="utf-8")
    return target


def runtime_deps(corpus: Corpus, cache: Path = DEFAULT_CACHE) -> Path:
    """A folder holding the corpus's pinned runtime dependencies (installed once, for the differential)."""
    target = cache / f"{corpus.dist}-{corpus.version}-deps"
    done = target / ".installed"
    pins = "\n".join(corpus.runtime)
    if not done.is_file() or done.read_text(encoding="utf-8") != pins:
        shutil.rmtree(target, ignore_errors=True)
        if corpus.runtime:
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), *corpus.runtime],
                check=True,
            )
        target.mkdir(parents=True, exist_ok=True)
        done.write_text(pins, encoding="utf-8")
    return target


def _parse(text: str) -> ast.Module:
    """`ast.parse`, once more with a roomier recursion limit if CPython 3.11 reports "AST
    constructor recursion depth mismatch": its AST conversion counts depth against the current
    recursion limit and, on overflow, reports the mismatch instead of a RecursionError (seen once
    on this corpus's 880 KB module inside a pytest-xdist worker)."""
    try:
        return ast.parse(text)
    except SystemError:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20_000))
        try:
            return ast.parse(text)
        finally:
            sys.setrecursionlimit(old)


def type_classes(package_dir: Path, package: str) -> list[tuple[str, str]]:
    """(module, class) of every class whose bases name `TypedDict` or `BaseModel`, sorted."""
    found: list[tuple[str, str]] = []
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not all(p.isidentifier() for p in parts):
            continue
        tree = _parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("TypedDict", "BaseModel")) for b in bases):
                    found.append((".".join(parts), node.name))
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func).endswith("TypedDict")
            ):
                found.append((".".join(parts), node.targets[0].id))
    return found


def make_project(extracted: Path, corpus: Corpus, dest: Path, sample: int, seed: int = 11) -> list[tuple[str, str]]:
    """A project at `dest`: the corpus package plus handlers over `sample` of its types."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copytree(extracted / corpus.package, dest / corpus.package, ignore=shutil.ignore_patterns("*.pyi"))
    every = type_classes(dest / corpus.package, corpus.package)
    chosen = sorted(random.Random(seed).sample(every, min(sample, len(every))))
    lines = ["from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler"]
    for i, (module, name) in enumerate(chosen):
        lines.append(f"from {module} import {name} as T{i}")
    for i in range(len(chosen)):
        lines += [
            "",
            f'@handler("POST", "/t{i}")',
            f"def h{i}(req: Request[T{i}], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...",
        ]
    (dest / f"{HANDLERS_MODULE}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (dest / "pyproject.toml").write_text('[tool.gati]\nname = "corpus"\n', encoding="utf-8")
    return chosen


@dataclass
class Report:
    corpus: str
    files: int
    sampled: int
    clean: int
    by_code: Counter[str]
    build_seconds: float
    ast_seconds: float
    differential: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    @property
    def clean_share(self) -> float:
        return self.clean / self.sampled if self.sampled else 1.0

    def lines(self) -> list[str]:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(self.by_code.items())) or "none"
        diff = ", ".join(f"{k} {v}" for k, v in self.differential.items()) or "not run"
        return [
            f"{self.corpus}: {self.clean}/{self.sampled} sampled types built without a diagnostic "
            f"({self.clean_share:.1%}); {self.files} .py files in the package",
            f"  diagnostics by code: {codes}",
            f"  differential vs pydantic strict: {diff}",
            f"  cold build {self.build_seconds:.2f} s vs ast.parse of the files it read "
            f"{self.ast_seconds:.3f} s ({self.build_seconds / max(self.ast_seconds, 1e-9):.0f}x)",
            *(f"  e.g. {e}" for e in self.examples),
        ]


def _closure(program: Program, root: GType) -> set[str]:
    seen: set[str] = set()
    todo = [root]
    while todo:
        g = todo.pop()
        match g:
            case RefType(ref=r):
                if r not in seen and r in program.gtypes:
                    seen.add(r)
                    todo.append(program.gtypes[r])
            case ObjectType(properties=props):
                todo.extend(p.type for p in props)
            case ArrayType(items=items):
                todo.append(items)
            case TupleType(items=items):
                todo.extend(items)
            case MapType(keys=k, values=v):
                todo += [k, v]
            case UnionType(options=o):
                todo.extend(o)
            case IntersectionType(parts=p):
                todo.extend(p)
            case _:
                pass
    return seen


def _enclosing_definitions(root: Path, rel: str, lines: list[int], cache: dict[str, ast.Module]) -> list[str | None]:
    """The top-level definition (class or assignment, also in an `if` or `try` block) holding each line."""
    if rel not in cache:
        cache[rel] = ast.parse((root / rel).read_text(encoding="utf-8"))
    spans = [(node.lineno, node.end_lineno or node.lineno, name) for name, node, _ in definitions(cache[rel].body)]
    return [next((name for start, end, name in spans if start <= line <= end), None) for line in lines]


def attribute(
    result: BuildResult, root: Path, chosen: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[str]]:
    """The sampled types that reach no definition (class or assignment) with a diagnostic."""
    program = result.lowered
    if program is None:
        return [], ["no program: the build stopped before lowering"]
    bad: set[tuple[str, str]] = set()
    bad_modules: set[str] = set()
    per_file: dict[str, list[int]] = {}
    for d in result.diagnostics:
        if d.severity.value == "error":
            per_file.setdefault(d.span.path, []).append(d.span.line)
    trees: dict[str, ast.Module] = {}
    for rel, lines in per_file.items():
        if not rel.endswith(".py"):
            continue
        module = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in _enclosing_definitions(root, rel, lines, trees):
            if name is None:
                bad_modules.add(module)  # a module-level statement: every type of the module counts as hit
            else:
                bad.add((module, name))
    clean: list[tuple[str, str]] = []
    examples: list[str] = []
    by_handler = {h.handlerId: h for h in program.handlers}
    # an alias is inlined where it is used and leaves no origin behind: follow the source too
    package = chosen[0][0].split(".")[0] if chosen else ""
    uses = Uses(root, package) if bad and package else None
    for i, (module, name) in enumerate(chosen):
        handler = by_handler.get(f"h{i}")
        if handler is None or handler.gtypes.request is None:
            continue
        refs = _closure(program, handler.gtypes.request)
        origins = set()
        for r in refs:
            origin = getattr(program.gtypes[r], "origin", None)
            if origin is not None:
                origins.add((origin.module, origin.qualname))
        origins.add((module, name))
        if uses is not None:
            origins |= uses.reached((module, name))
        if origins & bad or {m for m, _ in origins} & bad_modules:
            if len(examples) < 3:
                examples.append(f"{module}.{name} reaches a definition with a diagnostic")
            continue
        clean.append((module, name))
    return clean, examples


def _ast_seconds(result: BuildResult, root: Path) -> float:
    texts = [t for rel, t in result.sources.items() if rel.endswith(".py")]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            ast.parse(text)
        best = min(best, time.perf_counter() - start)
    return best


@contextmanager
def importable(*paths: Path) -> Iterator[None]:
    """`paths` on `sys.path` (the corpus and its dependencies, after the venv's own packages)."""
    sys.path[:0] = [str(paths[0])]
    sys.path.extend(str(p) for p in paths[1:])
    before = set(sys.modules)
    try:
        yield
    finally:
        sys.path.remove(str(paths[0]))
        for p in paths[1:]:
            sys.path.remove(str(p))
        for name in set(sys.modules) - before:
            del sys.modules[name]


def run_corpus(
    corpus: Corpus, work: Path, *, sample: int, cache: Path = DEFAULT_CACHE, differential: int = 0
) -> Report:
    extracted = fetch(corpus, cache)
    dest = work / corpus.dist
    chosen = make_project(extracted, corpus, dest, sample)
    start = time.perf_counter()
    result = build(dest, write=False, jobs=None)
    seconds = time.perf_counter() - start
    clean, examples = attribute(result, dest, chosen)
    files = sum(1 for _ in (dest / corpus.package).rglob("*.py"))
    report = Report(
        corpus=f"{corpus.dist}=={corpus.version}",
        files=files,
        sampled=len(chosen),
        clean=len(clean),
        by_code=Counter(d.code for d in result.diagnostics),
        build_seconds=seconds,
        ast_seconds=_ast_seconds(result, dest),
        examples=examples,
    )
    if differential:
        deps = runtime_deps(corpus, cache)
        report.differential = differential_run(result, dest, deps, corpus, chosen, set(clean), differential)
    return report


def differential_run(
    result: BuildResult,
    root: Path,
    deps: Path,
    corpus: Corpus,
    chosen: list[tuple[str, str]],
    clean: set[tuple[str, str]],
    per_type: int,
) -> dict[str, int]:
    """Decoder vs pydantic strict JSON on documents drawn from each clean type's schema and
    mutations of them (a type that reaches a diagnostic is not compared: that build does not
    serve). Needs the package importable (its runtime dependencies installed)."""
    from tests.fidelity.differential import compare_many

    program = result.lowered
    assert program is not None
    with importable(root, deps):
        try:
            importlib.import_module(corpus.package)
        except ImportError as exc:
            return {"skipped (package does not import here)": 1, f"missing {exc.name}": 1}
        return compare_many(program, root, chosen, per_type, clean)


def main_json(report: Report) -> str:
    return json.dumps(
        {
            "corpus": report.corpus,
            "sampled": report.sampled,
            "clean": report.clean,
            "byCode": dict(report.by_code),
            "buildSeconds": round(report.build_seconds, 3),
            "astSeconds": round(report.ast_seconds, 4),
            "differential": report.differential,
        },
        sort_keys=True,
    )


__all__ = ["CORPORA", "Corpus", "Report", "fetch", "make_project", "run_corpus"]
