"""The persistent build cache in `<out>/.cache/`: incremental builds and the no-op check.

| module | role |
| --- | --- |
| `blob` | the checksummed, versioned frame of every cache file; atomic writes |
| `index` | what the last clean build read and wrote; `noop_verdict` (standard library only) |
| `graph` | the module dependency graph and the modules an edit affects |
| `store` | `BuildCache`: facts per file keyed by content hash, emit reuse, saving |
| `incremental` | the four points where the pipeline calls in |

This package's `__init__` imports nothing, so the no-op check stays free of libcst, pydantic
and jinja2.
"""
