"""Start-up checks: a missing, corrupt or incompatible build is a `ManifestError` naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rt_fixture import make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

from gati_runtime_min import GatiApp, ManifestError


def _edit_manifest(build: Path, **changes: object) -> None:
    path = build / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_missing_build(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"manifest\.json: missing; run `gatic build` first") as info:
        GatiApp(tmp_path / "nowhere")
    assert info.value.file.endswith("manifest.json")


def test_corrupt_manifest(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    (build / "manifest.json").write_text('{"app": ', encoding="utf-8")
    with pytest.raises(ManifestError, match="corrupt JSON") as info:
        GatiApp(build)
    assert info.value.file == str(build / "manifest.json")


def test_incompatible_ir_version(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    _edit_manifest(build, irVersion=99)
    with pytest.raises(ManifestError, match="irVersion 99 is not supported"):
        GatiApp(build)


def test_missing_key(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    path = build / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["handlers"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ManifestError, match="missing key 'handlers'"):
        GatiApp(build)


def test_artifact_digest_mismatch_names_the_file(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    target = build / "handlers" / "get_user.json"
    target.write_text(target.read_text(encoding="utf-8").replace('"GET"', '"PUT"'), encoding="utf-8")
    with pytest.raises(ManifestError, match="does not match its digest") as info:
        GatiApp(build)
    assert info.value.file == str(target)


def test_missing_handler_file(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    (build / "handlers" / "get_user.json").unlink()
    with pytest.raises(ManifestError, match=r"get_user\.json"):
        GatiApp(build)


def test_missing_validators(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    (build / "validators" / "__init__.py").unlink()
    with pytest.raises(ManifestError, match=r"validators/__init__\.py: missing"):
        GatiApp(build)


def test_validators_without_codec(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    init = build / "validators" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace("    'get_user':", "    'get_userX':"), encoding="utf-8")
    with pytest.raises(ManifestError, match="no codec for handler 'get_user'"):
        GatiApp(build)


def test_unimportable_handler_names_the_handler_manifest(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    handlers = next((build.parent).glob("rtapp_*/handlers.py"))
    handlers.write_text("import not_a_real_package_xyz\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="cannot import module") as info:
        GatiApp(build)
    assert info.value.file.endswith(".json")


def test_missing_jwt_secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RT_TEST_SECRET", raising=False)
    build = make_build(tmp_path, settings={"auth": {"jwt": {"secretEnv": "RT_TEST_SECRET"}}})
    with pytest.raises(ManifestError, match="RT_TEST_SECRET is not set"):
        GatiApp(build)


def test_validators_are_loaded_under_a_private_name(tmp_path: Path) -> None:
    app = GatiApp(make_build(tmp_path))
    assert app.build.validators.__name__.startswith("_gati_validators_")
