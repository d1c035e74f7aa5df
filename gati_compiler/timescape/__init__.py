"""Timescape: recorded API versions, the breaking-change engine and the lock that holds them."""
