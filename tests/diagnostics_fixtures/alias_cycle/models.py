"""Aliases that only name each other."""

from typing import TypedDict

A = B  # E: GATI203
B = A

Loop = list[Loop]

Tree = dict[str, "Tree"] | int

Me = "Me"  # E: GATI203


class Box(TypedDict):
    content: A
    tree: Tree
    loop: Loop
    me: Me
