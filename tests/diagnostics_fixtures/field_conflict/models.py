"""TypedDict inheritance that changes the type of an inherited field."""

from typing import NotRequired, TypedDict


class NewUser(TypedDict):
    name: str
    age: int


class User(NewUser):
    id: int
    age: str  # E: GATI305
    name: str


class Admin(User):
    id: NotRequired[int]
    level: int


class Auditor(User):
    id: list[int]  # E: GATI305


class Twice(TypedDict):
    """A field written twice in one class: the last one wins, as at run time (no inherited conflict)."""

    value: int
    value: str
