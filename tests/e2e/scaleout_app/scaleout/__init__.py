"""A small app for the scale-out tests: a rate-limited validated POST, pub/sub, the shared store."""
