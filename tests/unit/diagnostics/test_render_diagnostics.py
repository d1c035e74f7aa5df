"""Snapshot tests for the diagnostic renderers (ruff style: one snapshot per format)."""
# ruff: noqa: E501  (snapshots keep each rendered line on one source line)

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.codes import REGISTRY, DiagnosticCode
from gati_compiler.diagnostics.model import Diagnostic, Severity, Span
from gati_compiler.diagnostics.render import (
    render_github,
    render_json,
    render_junit,
    render_sarif,
    render_text,
    summary_line,
)


def diag(
    code: DiagnosticCode,
    message: str,
    path: str,
    line: int,
    col: int,
    end_line: int | None = None,
    end_col: int | None = None,
    *,
    help: str | None = None,
    notes: tuple[str, ...] = (),
    severity: Severity | None = None,
) -> Diagnostic:
    return Diagnostic(
        code=code.id,
        name=code.name,
        severity=severity or code.default_severity,
        message=message,
        span=Span(
            path=path,
            line=line,
            col=col,
            end_line=end_line if end_line is not None else line,
            end_col=end_col if end_col is not None else col + 1,
        ),
        notes=notes,
        help=help,
        url=code.url,
    )


SOURCES = {
    "app/users.py": (
        "from gati_runtime_min import handler\n"
        "\n"
        "@handler('GET', '/users/{id:uuid4}')\n"
        "def get_user(req, res):\n"
        "\tif req:\n"
        "\t\treturn naïve_用户\n"
        "\n"
        "\n"
    ),
    "app/broken.py": "def f(:\n    pass\n",
}

# given out of order on purpose: every renderer sorts by (path, line, col, code)
SAMPLE = [
    diag(
        codes.HANDLER_SIGNATURE,
        "handler `get_user` must take `(req, res, lctx, gctx)`",
        "app/users.py",
        4,
        5,
        end_col=13,
        help="add the missing parameters `lctx: LocalContext, gctx: GlobalContext`",
    ),
    # a syntax error, as the parse stage reports it
    diag(codes.SYNTAX_ERROR, "invalid syntax: expected a parameter name", "app/broken.py", 1, 7),
    diag(
        codes.UNKNOWN_CONVERTER,
        "unknown converter `uuid4` in path `/users/{id:uuid4}`",
        "app/users.py",
        3,
        23,
        end_col=28,
        notes=("converters are `str`, `int`, `float`, `uuid`, `date`, `path`",),
        help="did you mean `uuid`?",
    ),
    # a tab-indented line with wide (CJK) and non-ASCII characters
    diag(codes.UNRESOLVED_NAME, "name `naïve_用户` cannot be found", "app/users.py", 6, 10, end_col=18),
    # a span on a blank line: the frame shows the nearest non-blank line above
    diag(codes.UNKNOWN_MODULE, "module `db` is used but no class declares it", "app/users.py", 8, 1),
]

TEXT = (
    "app/broken.py:1:7: error[GATI101] invalid syntax: expected a parameter name\n"
    "  |\n"
    "1 | def f(:\n"
    "  |       ^\n"
    "\n"
    "app/users.py:3:23: error[GATI106] unknown converter `uuid4` in path `/users/{id:uuid4}`\n"
    "  |\n"
    "3 | @handler('GET', '/users/{id:uuid4}')\n"
    "  |                       ^^^^^\n"
    "  |\n"
    "  = note: converters are `str`, `int`, `float`, `uuid`, `date`, `path`\n"
    "  = help: did you mean `uuid`?\n"
    "\n"
    "app/users.py:4:5: error[GATI103] handler `get_user` must take `(req, res, lctx, gctx)`\n"
    "  |\n"
    "4 | def get_user(req, res):\n"
    "  |     ^^^^^^^^\n"
    "  |\n"
    "  = help: add the missing parameters `lctx: LocalContext, gctx: GlobalContext`\n"
    "\n"
    "app/users.py:6:10: error[GATI201] name `naïve_用户` cannot be found\n"
    "  |\n"
    "6 |         return naïve_用户\n"
    "  |                ^^^^^^^^^^\n"
    "\n"
    "app/users.py:8:1: warning[GATI307] module `db` is used but no class declares it\n"
    "  |\n"
    "6 |         return naïve_用户\n"
    "  |                          ^\n"
    "\n"
    "Found 4 errors and 1 warning.\n"
)
GITHUB = (
    "::error file=app/broken.py,line=1,col=7,endLine=1,endColumn=7,title=GATI101::invalid syntax: expected a parameter name\n"
    "::error file=app/users.py,line=3,col=23,endLine=3,endColumn=27,title=GATI106::unknown converter `uuid4` in path `/users/{id:uuid4}`%0Anote: converters are `str`, `int`, `float`, `uuid`, `date`, `path`%0Ahelp: did you mean `uuid`?\n"
    "::error file=app/users.py,line=4,col=5,endLine=4,endColumn=12,title=GATI103::handler `get_user` must take `(req, res, lctx, gctx)`%0Ahelp: add the missing parameters `lctx: LocalContext, gctx: GlobalContext`\n"
    "::error file=app/users.py,line=6,col=10,endLine=6,endColumn=17,title=GATI201::name `naïve_用户` cannot be found\n"
    "::warning file=app/users.py,line=8,col=1,endLine=8,endColumn=1,title=GATI307::module `db` is used but no class declares it\n"
)
JSON = (
    "{\n"
    '  "diagnostics": [\n'
    "    {\n"
    '      "code": "GATI101",\n'
    '      "end": {\n'
    '        "col": 8,\n'
    '        "line": 1\n'
    "      },\n"
    '      "help": null,\n'
    '      "helpUri": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati101",\n'
    '      "message": "invalid syntax: expected a parameter name",\n'
    '      "name": "syntax-error",\n'
    '      "notes": [],\n'
    '      "path": "app/broken.py",\n'
    '      "severity": "error",\n'
    '      "start": {\n'
    '        "col": 7,\n'
    '        "line": 1\n'
    "      },\n"
    '      "url": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati101"\n'
    "    },\n"
    "    {\n"
    '      "code": "GATI106",\n'
    '      "end": {\n'
    '        "col": 28,\n'
    '        "line": 3\n'
    "      },\n"
    '      "help": "did you mean `uuid`?",\n'
    '      "helpUri": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati106",\n'
    '      "message": "unknown converter `uuid4` in path `/users/{id:uuid4}`",\n'
    '      "name": "unknown-converter",\n'
    '      "notes": [\n'
    '        "converters are `str`, `int`, `float`, `uuid`, `date`, `path`"\n'
    "      ],\n"
    '      "path": "app/users.py",\n'
    '      "severity": "error",\n'
    '      "start": {\n'
    '        "col": 23,\n'
    '        "line": 3\n'
    "      },\n"
    '      "url": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati106"\n'
    "    },\n"
    "    {\n"
    '      "code": "GATI103",\n'
    '      "end": {\n'
    '        "col": 13,\n'
    '        "line": 4\n'
    "      },\n"
    '      "help": "add the missing parameters `lctx: LocalContext, gctx: GlobalContext`",\n'
    '      "helpUri": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati103",\n'
    '      "message": "handler `get_user` must take `(req, res, lctx, gctx)`",\n'
    '      "name": "handler-signature",\n'
    '      "notes": [],\n'
    '      "path": "app/users.py",\n'
    '      "severity": "error",\n'
    '      "start": {\n'
    '        "col": 5,\n'
    '        "line": 4\n'
    "      },\n"
    '      "url": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati103"\n'
    "    },\n"
    "    {\n"
    '      "code": "GATI201",\n'
    '      "end": {\n'
    '        "col": 18,\n'
    '        "line": 6\n'
    "      },\n"
    '      "help": null,\n'
    '      "helpUri": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati201",\n'
    '      "message": "name `naïve_用户` cannot be found",\n'
    '      "name": "unresolved-name",\n'
    '      "notes": [],\n'
    '      "path": "app/users.py",\n'
    '      "severity": "error",\n'
    '      "start": {\n'
    '        "col": 10,\n'
    '        "line": 6\n'
    "      },\n"
    '      "url": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati201"\n'
    "    },\n"
    "    {\n"
    '      "code": "GATI307",\n'
    '      "end": {\n'
    '        "col": 2,\n'
    '        "line": 8\n'
    "      },\n"
    '      "help": null,\n'
    '      "helpUri": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati307",\n'
    '      "message": "module `db` is used but no class declares it",\n'
    '      "name": "unknown-module",\n'
    '      "notes": [],\n'
    '      "path": "app/users.py",\n'
    '      "severity": "warning",\n'
    '      "start": {\n'
    '        "col": 1,\n'
    '        "line": 8\n'
    "      },\n"
    '      "url": "https://github.com/gati-dev/gati-python/blob/v0.1.0/docs/diagnostics.md#gati307"\n'
    "    }\n"
    "  ],\n"
    '  "version": 1\n'
    "}\n"
)
JUNIT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<testsuites name="gatic" tests="5" failures="4" errors="0">\n'
    '  <testsuite name="app/broken.py" tests="1" failures="1" errors="0" skipped="0">\n'
    '    <testcase classname="app/broken.py" name="GATI101 app/broken.py:1:7" file="app/broken.py" line="1">\n'
    '      <failure type="GATI101" message="invalid syntax: expected a parameter name">app/broken.py:1:7: error[GATI101] invalid syntax: expected a parameter name</failure>\n'
    "    </testcase>\n"
    "  </testsuite>\n"
    '  <testsuite name="app/users.py" tests="4" failures="3" errors="0" skipped="0">\n'
    '    <testcase classname="app/users.py" name="GATI106 app/users.py:3:23" file="app/users.py" line="3">\n'
    '      <failure type="GATI106" message="unknown converter `uuid4` in path `/users/{id:uuid4}`">app/users.py:3:23: error[GATI106] unknown converter `uuid4` in path `/users/{id:uuid4}`\n'
    "note: converters are `str`, `int`, `float`, `uuid`, `date`, `path`\n"
    "help: did you mean `uuid`?</failure>\n"
    "    </testcase>\n"
    '    <testcase classname="app/users.py" name="GATI103 app/users.py:4:5" file="app/users.py" line="4">\n'
    '      <failure type="GATI103" message="handler `get_user` must take `(req, res, lctx, gctx)`">app/users.py:4:5: error[GATI103] handler `get_user` must take `(req, res, lctx, gctx)`\n'
    "help: add the missing parameters `lctx: LocalContext, gctx: GlobalContext`</failure>\n"
    "    </testcase>\n"
    '    <testcase classname="app/users.py" name="GATI201 app/users.py:6:10" file="app/users.py" line="6">\n'
    '      <failure type="GATI201" message="name `naïve_用户` cannot be found">app/users.py:6:10: error[GATI201] name `naïve_用户` cannot be found</failure>\n'
    "    </testcase>\n"
    '    <testcase classname="app/users.py" name="GATI307 app/users.py:8:1" file="app/users.py" line="8">\n'
    "      <system-out>app/users.py:8:1: warning[GATI307] module `db` is used but no class declares it</system-out>\n"
    "    </testcase>\n"
    "  </testsuite>\n"
    "</testsuites>\n"
)


def test_text_snapshot() -> None:
    assert render_text(SAMPLE, SOURCES) == TEXT


def test_text_is_sorted_and_input_order_free() -> None:
    assert render_text(list(reversed(SAMPLE)), SOURCES) == TEXT


def test_text_without_source_has_no_frame() -> None:
    out = render_text([SAMPLE[0]], {})
    assert out == (
        "app/users.py:4:5: error[GATI103] handler `get_user` must take `(req, res, lctx, gctx)`\n"
        "  = help: add the missing parameters `lctx: LocalContext, gctx: GlobalContext`\n"
        "\n"
        "Found 1 error.\n"
    )


def test_text_multiline_span_underlines_to_end_of_first_line() -> None:
    d = diag(codes.PATH_INVALID, "bad path", "app/users.py", 3, 17, end_line=4, end_col=3)
    out = render_text([d], SOURCES)
    assert "3 | @handler('GET', '/users/{id:uuid4}')\n  |                 ^^^^^^^^^^^^^^^^^^^^\n" in out


def test_text_column_past_end_of_line() -> None:
    d = diag(codes.SYNTAX_ERROR, "unexpected end of line", "app/broken.py", 1, 40)
    assert "1 | def f(:\n  |        ^\n" in render_text([d], SOURCES)


def test_text_line_past_end_of_file_has_no_frame() -> None:
    d = diag(codes.SYNTAX_ERROR, "unexpected end of file", "app/broken.py", 99, 1)
    assert render_text([d], SOURCES) == (
        "app/broken.py:99:1: error[GATI101] unexpected end of file\n\nFound 1 error.\n"
    )


def test_text_color_only_when_asked() -> None:
    plain = render_text(SAMPLE, SOURCES)
    colored = render_text(SAMPLE, SOURCES, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[31m\x1b[1merror[GATI103]\x1b[0m" in colored


def test_summary_line() -> None:
    assert summary_line([]) == "No problems found."
    assert summary_line(SAMPLE) == "Found 4 errors and 1 warning."
    info = diag(codes.UNKNOWN_MODULE, "m", "a.py", 1, 1, severity=Severity.INFO)
    assert summary_line([SAMPLE[0], info, info]) == "Found 1 error and 2 info messages."
    assert summary_line([SAMPLE[0], SAMPLE[4], info]) == "Found 1 error, 1 warning and 1 info message."
    assert render_text([], {}) == "No problems found.\n"


def test_json_snapshot() -> None:
    assert render_json(SAMPLE) == JSON


def test_json_empty() -> None:
    assert json.loads(render_json([])) == {"version": 1, "diagnostics": []}


def test_github_snapshot() -> None:
    assert render_github(SAMPLE) == GITHUB


def test_github_escaping() -> None:
    d = diag(codes.CONFIG_INVALID, "100% bad\r\nvalue", "dir,x/a:b.toml", 2, 3)
    assert render_github([d]) == (
        "::error file=dir%2Cx/a%3Ab.toml,line=2,col=3,endLine=2,endColumn=3,title=GATI001::100%25 bad%0D%0Avalue\n"
    )


def test_junit_snapshot() -> None:
    assert render_junit(SAMPLE) == JUNIT


def test_junit_empty_and_control_characters() -> None:
    root = ET.fromstring(render_junit([]))
    assert root.attrib == {"name": "gatic", "tests": "1", "failures": "0", "errors": "0"}
    d = diag(codes.SYNTAX_ERROR, "bad \x00\x1b byte", "a.py", 1, 1)
    failure = ET.fromstring(render_junit([d])).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.attrib["message"] == "bad  byte"


def test_sarif_structure() -> None:
    log = json.loads(render_sarif(SAMPLE, "9.9.9"))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "gatic"
    assert driver["version"] == "9.9.9"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == sorted(REGISTRY)
    for rule in driver["rules"]:
        assert {"id", "name", "shortDescription", "defaultConfiguration"} <= rule.keys()
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note", "none"}
    assert len(run["results"]) == len(SAMPLE)
    for result in run["results"]:
        assert {"ruleId", "level", "message", "locations"} <= result.keys()
        assert result["message"]["text"]
        assert result["level"] in {"error", "warning", "note", "none"}
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] in SOURCES
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) > (region["startLine"], region["startColumn"])
    first = run["results"][0]
    assert first["ruleId"] == "GATI101"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 7,
        "endLine": 1,
        "endColumn": 8,
    }
    warning = [r for r in run["results"] if r["ruleId"] == "GATI307"]
    assert warning[0]["level"] == "warning"


def test_sarif_is_deterministic() -> None:
    assert render_sarif(SAMPLE, "1") == render_sarif(list(reversed(SAMPLE)), "1")
