"""Reading a build's files: JSON artifacts, their digests, the generated validators package, and
`module:function` references, each failure a `ManifestError` naming the file."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import itertools
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from gati_runtime_min.errors import ManifestError
from gati_runtime_min.stamps import ArtifactCache

_counter = itertools.count()


def read_json(build_dir: Path, rel: str) -> Any:
    path = build_dir / rel
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(str(path), "missing; run `gatic build` first") from None
    except OSError as exc:
        raise ManifestError(str(path), f"cannot read: {exc}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(str(path), f"corrupt JSON ({exc}); rebuild with `gatic build`") from None


def need(obj: Any, key: str, kind: type | tuple[type, ...], file: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ManifestError(file, f"missing key {key!r}; the build is incomplete or from another gati version")
    value = obj[key]
    if not isinstance(value, kind):
        raise ManifestError(file, f"key {key!r} has the wrong type ({type(value).__name__})")
    return value


def check_artifacts(build_dir: Path, manifest: Mapping[str, Any], cache: ArtifactCache | None = None) -> None:
    artifacts = manifest.get("artifacts") or {}
    if cache is not None:
        cache.check_all(build_dir, artifacts)
        return
    for rel, digest in sorted(artifacts.items()):
        path = build_dir / rel
        try:
            data = path.read_bytes()
        except OSError:
            raise ManifestError(str(path), "listed in manifest.json artifacts but missing") from None
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            continue
        want = digest.removeprefix("sha256:")
        if hashlib.sha256(data).hexdigest() == want:
            continue
        if rel.endswith(".json"):  # accept the compact (hashing) form of the same JSON too
            try:
                compact = orjson.dumps(orjson.loads(data), option=orjson.OPT_SORT_KEYS)
            except orjson.JSONDecodeError:
                compact = b""
            if hashlib.sha256(compact).hexdigest() == want:
                continue
        raise ManifestError(str(path), "content does not match its digest in manifest.json; rebuild with `gatic build`")


def import_ref(ref_module: str, function: str, file: str) -> Callable[..., Any]:
    # a module imported already (and not half way through its import) is what `import_module`
    # returns, without its import machinery: a load asks for the same few modules thousands of times
    mod = sys.modules.get(ref_module)
    if mod is None or getattr(getattr(mod, "__spec__", None), "_initializing", False):
        try:
            mod = importlib.import_module(ref_module)
        except Exception as exc:
            raise ManifestError(file, f"cannot import module {ref_module!r}: {type(exc).__name__}: {exc}") from exc
    obj = getattr(mod, function, None)
    if obj is None:
        raise ManifestError(file, f"module {ref_module!r} has no attribute {function!r}")
    if not callable(obj):
        raise ManifestError(file, f"{ref_module}:{function} is not callable")
    return obj  # type: ignore[no-any-return]


def load_validators(
    build_dir: Path, rel: str = "validators", needs: tuple[str, ...] = ("HANDLERS", "DecodeError")
) -> ModuleType:
    """Import `.gati/validators/` (or another generated validators package under `rel`) by file
    location under a private module name, and check it defines `needs`."""
    init = build_dir / rel / "__init__.py"
    if not init.is_file():
        raise ManifestError(str(init), "missing; run `gatic build` first")
    digest = hashlib.sha256(str(build_dir.resolve()).encode()).hexdigest()[:12]
    name = f"_gati_validators_{digest}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-file paths
        raise ManifestError(str(init), "cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ManifestError(str(init), f"cannot be imported: {type(exc).__name__}: {exc}") from exc
    for attr in needs:
        if not hasattr(module, attr):
            raise ManifestError(str(init), f"does not define {attr}; rebuild with `gatic build`")
    return module


def put_source_roots_on_path(bdir: Path, manifest: Mapping[str, Any]) -> Path:
    """Make the app's source roots importable (the handlers, and the validators that import the
    app's own enums and models); the project root."""
    project_root = (bdir / str(manifest.get("projectRoot", ".."))).resolve()
    for root in reversed(manifest.get("sourceRoots") or ["."]):
        p = str((project_root / root).resolve())
        if p not in sys.path:
            sys.path.insert(0, p)
    return project_root
