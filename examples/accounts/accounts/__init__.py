"""Accounts: an example Gati app whose API changed three times (see timescape.lock)."""
