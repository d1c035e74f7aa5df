"""Bookstore: an example Gati app."""
