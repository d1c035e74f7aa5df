"""`load_config`: defaults, both file kinds, and diagnostics that point at the real key or value."""

from __future__ import annotations

from pathlib import Path

import pytest

from gati_compiler.config import GatiConfig, load_config, settings_for_runtime
from gati_compiler.diagnostics.model import Diagnostic, DiagnosticSink


def make_project(tmp_path: Path, files: dict[str, str], dirs: tuple[str, ...] = ()) -> Path:
    root = tmp_path / "my-app"
    root.mkdir()
    for rel, text in files.items():
        (root / rel).write_text(text, encoding="utf-8")
    for d in dirs:
        (root / d).mkdir(parents=True)
    return root


def load(root: Path) -> tuple[GatiConfig | None, list[Diagnostic]]:
    sink = DiagnosticSink()
    cfg = load_config(root, sink)
    assert (cfg is None) == sink.has_errors
    return cfg, sink.diagnostics


def where(d: Diagnostic) -> tuple[str, str, int, int, int, int]:
    s = d.span
    return (d.code, s.path, s.line, s.col, s.end_line, s.end_col)


def test_no_config_files_means_defaults(tmp_path: Path) -> None:
    root = make_project(tmp_path, {})
    cfg, diags = load(root)
    assert diags == []
    assert cfg is not None
    assert cfg.name == "my-app"
    assert cfg.config_file is None
    assert cfg.sources == (".",)
    assert cfg.out == ".gati"
    assert cfg.out_dir == root / ".gati"
    assert cfg.auth.jwt.algorithms == ("HS256",)
    assert cfg.auth.api_keys.header == "x-api-key"
    assert cfg.server.max_body_bytes == 1_048_576
    assert cfg.server.request_timeout == 30.0
    assert (cfg.deploy.image, cfg.deploy.replicas, cfg.deploy.port) == ("my-app:latest", 1, 8000)
    assert cfg.config == {}


def test_pyproject_without_tool_gati_takes_project_name(tmp_path: Path) -> None:
    cfg, diags = load(make_project(tmp_path, {"pyproject.toml": '[project]\nname = "Bookstore"\n'}))
    assert diags == []
    assert cfg is not None
    assert cfg.name == "Bookstore"
    assert cfg.config_file is None
    assert cfg.deploy.image == "bookstore:latest"


PYPROJECT = """\
[project]
name = "bookstore"
version = "1.4.0"

[tool.gati]
sources = ["src"]
out = "build/.gati"
global_hooks = ["app.hooks"]
auth.jwt = { algorithms = ["HS256", "RS256"], secret_env = "JWT_SECRET", public_key_file = "keys/pub.pem" }
"auth".api_keys.keys_env = "API_KEYS"

[tool.gati.server]
max_body_bytes = 2048
request_timeout = 5   # an int is a fine number of seconds

[tool.gati.deploy]
image = "registry.example/books:1"
replicas = 0

[tool.gati.state]
backend = "redis"
url_secret = "STATE_URL"
namespace = "books:prod"
rate_limit_failure = "open"
stream_maxlen = 500

[tool.gati.timescape]
hot_requests_per_hour = 120
warm_requests_per_hour = 0.5

[tool.gati.config]
greeting = "hi"
limits = { max = 3, tags = ["a", "b"] }
"""


def test_full_pyproject(tmp_path: Path) -> None:
    cfg, diags = load(make_project(tmp_path, {"pyproject.toml": PYPROJECT}, dirs=("src",)))
    assert diags == []
    assert cfg is not None
    assert cfg.name == "bookstore"
    assert cfg.config_file == "pyproject.toml"
    assert cfg.sources == ("src",)
    assert cfg.global_hooks == ("app.hooks",)
    assert cfg.auth.jwt.public_key_file == "keys/pub.pem"
    assert cfg.server.request_timeout == 5.0
    assert cfg.deploy.image == "registry.example/books:1"
    assert cfg.app_version == "1.4.0"  # `[project].version`: OpenAPI's `info.version`
    assert settings_for_runtime(cfg) == {
        "auth": {
            "jwt": {
                "algorithms": ["HS256", "RS256"],
                "secretEnv": "JWT_SECRET",
                "publicKeyFile": "keys/pub.pem",
                "audience": None,
                "issuer": None,
                "rolesClaim": "roles",
            },
            "apiKeys": {"header": "x-api-key", "keysEnv": "API_KEYS"},
        },
        "server": {"maxBodyBytes": 2048, "requestTimeout": 5.0},
        "state": {
            "backend": "redis",
            "url": None,
            "urlSecret": "STATE_URL",
            "namespace": "books:prod",
            "allowPerWorkerState": False,
            "rateLimitFailure": "open",
            "streamMaxlen": 500,
            "claimIdle": 30.0,
        },
        "timescape": {"hot": 120.0, "warm": 0.5},
        "appVersion": "1.4.0",
        "docs": {"enabled": True, "path": "/docs", "openapiPath": "/openapi.json"},
        "config": {"greeting": "hi", "limits": {"max": 3, "tags": ["a", "b"]}},
    }


def test_state_defaults_to_memory_and_bad_state_values_point_at_the_key(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cfg, _ = load(make_project(tmp_path / "a", {}))
    assert cfg is not None
    assert settings_for_runtime(cfg)["state"] == {
        "backend": "memory",
        "url": None,
        "urlSecret": None,
        "namespace": None,
        "allowPerWorkerState": False,
        "rateLimitFailure": "closed",
        "streamMaxlen": 10000,
        "claimIdle": 30.0,
    }
    text = '[tool.gati.state]\nbackend = "redis"\nrate_limit_failure = "maybe"\n'
    cfg, diags = load(make_project(tmp_path / "b", {"pyproject.toml": text}))
    assert cfg is None
    assert [(d.span.line, "rate_limit_failure" in d.message) for d in diags] == [(3, True)]


def test_timescape_thresholds_default_and_a_negative_one_points_at_the_key(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cfg, _ = load(make_project(tmp_path / "a", {}))
    assert cfg is not None
    assert settings_for_runtime(cfg)["timescape"] == {"hot": 60.0, "warm": 1.0}
    text = '[tool.gati]\nname = "x"\n\n[tool.gati.timescape]\nhot_requests_per_hour = -5\n'
    cfg, diags = load(make_project(tmp_path / "b", {"pyproject.toml": text}))
    assert cfg is None
    assert [(d.span.line, "hot_requests_per_hour" in d.message) for d in diags] == [(5, True)]


def test_settings_without_auth_are_null(tmp_path: Path) -> None:
    cfg, _ = load(make_project(tmp_path, {}))
    assert cfg is not None
    settings = settings_for_runtime(cfg)
    assert settings["auth"] == {"jwt": None, "apiKeys": None}


def test_gati_toml_top_level(tmp_path: Path) -> None:
    files = {"gati.toml": 'name = "svc"\nexclude = ["**/tests/**"]\n', "pyproject.toml": '[project]\nname = "p"\n'}
    cfg, diags = load(make_project(tmp_path, files))
    assert diags == []
    assert cfg is not None
    assert (cfg.name, cfg.config_file, cfg.exclude) == ("svc", "gati.toml", ("**/tests/**",))


def test_settings_in_both_files_is_an_error(tmp_path: Path) -> None:
    files = {"gati.toml": 'name = "a"\n', "pyproject.toml": '[project]\nname = "p"\n\n[tool.gati]\nname = "b"\n'}
    cfg, diags = load(make_project(tmp_path, files))
    assert cfg is None
    assert [where(d) for d in diags] == [("GATI005", "pyproject.toml", 4, 7, 4, 11)]


def test_unknown_keys_point_at_the_key_with_a_suggestion(tmp_path: Path) -> None:
    text = '[tool.gati]\nname = "x"\nsorces = ["."]\n\n[tool.gati.auth.jwt]\nalgorithm = ["HS256"]\nzzz = 1\n'
    cfg, diags = load(make_project(tmp_path, {"pyproject.toml": text}))
    assert cfg is None
    assert [where(d) for d in diags] == [
        ("GATI002", "pyproject.toml", 3, 1, 3, 7),
        ("GATI002", "pyproject.toml", 6, 1, 6, 10),
        ("GATI002", "pyproject.toml", 7, 1, 7, 4),
    ]
    assert diags[0].message == "unknown key `sorces`"
    assert diags[0].help == "did you mean `sources`?"
    assert diags[1].message == "unknown key `algorithm` in `auth.jwt`"
    assert diags[1].help == "did you mean `algorithms`?"
    assert diags[2].help is not None
    assert diags[2].help.startswith("known keys here: `algorithms`, `audience`")


def test_internal_fields_are_not_user_keys(tmp_path: Path) -> None:
    _, diags = load(make_project(tmp_path, {"gati.toml": 'project_dir = "/"\n'}))
    assert [d.code for d in diags] == ["GATI002"]


def test_unknown_key_in_inline_table_and_dotted_key(tmp_path: Path) -> None:
    text = "server = { max_body = 1 }\ndeploy.replica = 3\n"
    _, diags = load(make_project(tmp_path, {"gati.toml": text}))
    assert [where(d) for d in diags] == [
        ("GATI002", "gati.toml", 1, 12, 1, 20),
        ("GATI002", "gati.toml", 2, 8, 2, 15),
    ]
    assert [d.help for d in diags] == ["did you mean `max_body_bytes`?", "did you mean `replicas`?"]


@pytest.mark.parametrize(
    ("line", "message", "col", "end_col"),
    [
        ('sources = "app"', "`sources` must be a list of strings, got `str`", 11, 16),
        ('sources = ["a", 3]', "`sources[1]` must be a string, got `int`", 17, 18),
        ("name = 3", "`name` must be a string, got `int`", 8, 9),
        ('name = ""', '`name` must not be empty, got `""`', 8, 10),
        ("auth = 1", "`auth` must be a table, got `int`", 8, 9),
        ("auth.jwt.algorithms = []", "`auth.jwt.algorithms` must not be empty", 23, 25),
        (
            'auth.jwt.algorithms = ["HS256", "HS512"]',
            '`auth.jwt.algorithms[1]` must be one of `HS256`, `RS256`, got `"HS512"`',
            33,
            40,
        ),
        ("server.max_body_bytes = 0", "`server.max_body_bytes` must be greater than 0, got `0`", 25, 26),
        ("server.max_body_bytes = true", "`server.max_body_bytes` must be an integer, got `bool`", 25, 29),
        ("server.request_timeout = nan", "`server.request_timeout` must be a finite number, got `nan`", 26, 29),
        ("deploy.port = 70000", "`deploy.port` must be at most 65535, got `70000`", 15, 20),
        ('deploy.replicas = "2"', "`deploy.replicas` must be an integer, got `str`", 19, 22),
        ("config = [1]", "`config` must be a table, got `list`", 10, 13),
        ("config.when = 2024-01-01", "`config.when` must be JSON-compatible, got `date`", 15, 25),
    ],
)
def test_wrong_types_point_at_the_value(tmp_path: Path, line: str, message: str, col: int, end_col: int) -> None:
    cfg, diags = load(make_project(tmp_path, {"gati.toml": f"# settings\n{line}\n"}))
    assert cfg is None
    assert [(d.code, d.message) for d in diags] == [("GATI001", message)]
    assert where(diags[0])[2:] == (2, col, 2, end_col)


def test_values_in_multiline_arrays_and_tables_are_located(tmp_path: Path) -> None:
    text = '[tool.gati]\nexclude = [\n  "a",  # first\n  """b""",\n  7,\n]\n'
    _, diags = load(make_project(tmp_path, {"pyproject.toml": text}))
    assert [(where(d), d.message) for d in diags] == [
        (("GATI001", "pyproject.toml", 5, 3, 5, 4), "`exclude[2]` must be a string, got `int`")
    ]


def test_tool_gati_as_inline_table(tmp_path: Path) -> None:
    text = '[tool]\ngati = { name = "x", outt = "b" }\n'
    _, diags = load(make_project(tmp_path, {"pyproject.toml": text}))
    assert [where(d) for d in diags] == [("GATI002", "pyproject.toml", 2, 22, 2, 26)]


def test_tool_gati_not_a_table(tmp_path: Path) -> None:
    _, diags = load(make_project(tmp_path, {"pyproject.toml": '[tool]\ngati = "x"\n'}))
    assert [(d.code, d.message) for d in diags] == [("GATI001", "`the configuration` must be a table, got `str`")]


def test_syntax_error_at_reported_position(tmp_path: Path) -> None:
    text = '[tool.gati]\nname = "x"\nsources = [\n"a" "b"]\n'
    cfg, diags = load(make_project(tmp_path, {"pyproject.toml": text}))
    assert cfg is None
    assert [where(d) for d in diags] == [("GATI003", "pyproject.toml", 4, 5, 4, 6)]
    assert diags[0].message.startswith("`pyproject.toml` is not valid TOML: unclosed array")


def test_syntax_error_at_end_of_document(tmp_path: Path) -> None:
    _, diags = load(make_project(tmp_path, {"gati.toml": 'name = "x'}))
    assert [d.code for d in diags] == ["GATI003"]
    assert diags[0].span.line == 1


def test_config_file_not_utf8(tmp_path: Path) -> None:
    root = make_project(tmp_path, {})
    (root / "gati.toml").write_bytes(b"name = '\xff'\n")
    _, diags = load(root)
    assert [d.code for d in diags] == ["GATI003"]


def test_missing_source_folder_points_at_the_entry(tmp_path: Path) -> None:
    text = 'sources = ["app", "lib"]\n'
    cfg, diags = load(make_project(tmp_path, {"gati.toml": text}, dirs=("app",)))
    assert cfg is None
    assert [where(d) for d in diags] == [("GATI004", "gati.toml", 1, 19, 1, 24)]
    assert diags[0].message == "source folder `lib` does not exist"


def test_quoted_and_unicode_keys(tmp_path: Path) -> None:
    text = '"name" = "ü"\n[config]\n"ключ" = 1\n\'odd.key\' = { "n" = 2 }\n'
    cfg, diags = load(make_project(tmp_path, {"gati.toml": text}))
    assert diags == []
    assert cfg is not None
    assert cfg.config == {"ключ": 1, "odd.key": {"n": 2}}


def test_error_after_multiline_string_is_located(tmp_path: Path) -> None:
    text = 'name = """\nmulti = 1\n"""\nbogus = 2\n'
    _, diags = load(make_project(tmp_path, {"gati.toml": text}))
    assert [where(d) for d in diags] == [("GATI002", "gati.toml", 4, 1, 4, 6)]


def test_locator_never_raises_on_arbitrary_text() -> None:
    import random

    from gati_compiler.config_locate import TomlLocator

    alphabet = [*"ab=\"'[]{}.,#\n \t\\u1", '"""', "'''", "[[", "]]"]
    rng = random.Random(1)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        locator = TomlLocator(text, "x.toml")
        for key in list(locator.keys)[:3]:
            assert locator.key_span(key).line >= 1
            assert locator.value_span(key).line >= 1


def test_secrets_and_telemetry_reach_the_settings_only_when_written(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    cfg, _ = load(make_project(tmp_path / "a", {}))
    assert cfg is not None
    settings = settings_for_runtime(cfg)
    assert "secrets" not in settings and "telemetry" not in settings  # the runtime's defaults
    text = (
        '[tool.gati.secrets]\nproviders = ["file", "vault", "env"]\nenv_prefix = "SHOP_"\nttl = 5\n'
        'vault = "shop.vault:connect"\nvault_options = { url = "https://vault:8200" }\n\n'
        '[tool.gati.telemetry]\nexporter = "otlp"\nendpoint = "http://collector:4318"\nsample_ratio = 0.25\n'
    )
    cfg, diags = load(make_project(tmp_path / "b", {"pyproject.toml": text}))
    assert cfg is not None, diags
    settings = settings_for_runtime(cfg)
    assert settings["secrets"] == {
        "providers": ["file", "vault", "env"],
        "envPrefix": "SHOP_",
        "directory": "/var/run/secrets/gati",
        "ttl": 5.0,
        "vault": "shop.vault:connect",
        "vaultOptions": {"url": "https://vault:8200"},
    }
    assert settings["telemetry"] == {
        "exporter": "otlp",
        "endpoint": "http://collector:4318",
        "serviceName": None,
        "sampleRatio": 0.25,
        "metricInterval": 60.0,
    }
    for name, bad, word in (
        ("c", '[tool.gati.telemetry]\nexporter = "jaeger"\n', "exporter"),
        ("d", '[tool.gati.secrets]\nproviders = ["vault"]\n', "module:factory"),
    ):
        (tmp_path / name).mkdir()
        cfg, diags = load(make_project(tmp_path / name, {"pyproject.toml": bad}))
        assert cfg is None and word in " ".join(d.message + (d.help or "") for d in diags), diags


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ('["place_order", "get_book"]', ["place_order", "get_book"])],
)
def test_playground_snapshots_take_a_boolean_or_handler_ids(tmp_path: Path, value: str, expected: object) -> None:
    text = f'[tool.gati]\nname = "x"\n\n[tool.gati.playground]\nsnapshots = {value}\n'
    cfg, diags = load(make_project(tmp_path, {"pyproject.toml": text}))
    assert diags == [] and cfg is not None
    playground = settings_for_runtime(cfg)["playground"]
    assert isinstance(playground, dict) and playground["snapshots"] == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3", "`playground.snapshots` must be a boolean or a list of strings, got `int`"),
        ('["ok", 3]', "`playground.snapshots[1]` must be a string, got `int`"),
        ('["ok", ""]', '`playground.snapshots[1]` must not be empty, got `""`'),
    ],
)
def test_playground_snapshots_of_another_type_point_at_the_value(tmp_path: Path, value: str, message: str) -> None:
    text = f'[tool.gati]\nname = "x"\n\n[tool.gati.playground]\nsnapshots = {value}\n'
    cfg, diags = load(make_project(tmp_path, {"pyproject.toml": text}))
    assert cfg is None and [d.message for d in diags] == [message]
