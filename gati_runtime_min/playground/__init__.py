"""The playground: request traces, snapshots, debug gates and replay, and the page that shows them.

See `docs/playground.md`. Nothing here is imported unless tracing or the dev flag is on.
"""
