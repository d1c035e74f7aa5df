"""A model whose field is a class from an installed package gati cannot read."""

from typing import TypedDict

from sqlalchemy.orm import Session


class Unit(TypedDict):
    id: int
    session: Session  # E: GATI202
