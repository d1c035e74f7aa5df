"""Transformers between the recorded versions of the accounts API (see `timescape.lock`).

One module per step: `<handler>__<version>.py` bridges the handler's contract at that version
and the next one. v1.0.0 -> v2.0.0 renamed `full_name` to `name` and removed `avatar_url`;
v2.0.0 -> v3.0.0 turned the decimal-string `balance` and deposit `amount` into integer cents and
renamed the status `disabled` to `suspended`. The compiler finds them statically; the runtime
imports them from `.gati/timescape/serving.json`.
"""
