"""Microbenchmark: generated decoders vs fastjsonschema, jsonschema, pydantic strict and msgspec.

One realistic request schema (about 10 fields: constrained strings, bounded ints, float, bool,
literal, optional, nested object, list of objects, dict[str, int]), valid and invalid input, all
from already JSON-decoded Python data. Prints microseconds per call and ratios to our decoder.

    .venv/bin/python benchmarks/validators/bench_validators.py [--rounds 150]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Literal, NotRequired

import fastjsonschema
import jsonschema
import msgspec
from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import StringConstraints, TypeAdapter, ValidationError
from typing_extensions import TypedDict

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gati_compiler.emit.validators import emit_validators  # noqa: E402
from gati_compiler.ir.gtype import (  # noqa: E402
    NULL,
    ArrayType,
    GType,
    LiteralType,
    MapType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
    UnionType,
)
from gati_compiler.ir.jsonschema import gtypes_json_schema  # noqa: E402

EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]+$"
SKU = r"^[A-Z]{3}-[0-9]{4}$"
ZIP = r"^[0-9]{5}$"


class Address(TypedDict):
    street: Annotated[str, MinLen(1), MaxLen(100)]
    city: Annotated[str, MinLen(1), MaxLen(60)]
    zip: Annotated[str, StringConstraints(pattern=ZIP)]


class LineItem(TypedDict):
    sku: Annotated[str, StringConstraints(pattern=SKU)]
    quantity: Annotated[int, Ge(1), Le(1000)]
    price: Annotated[float, Ge(0)]


class CreateOrder(TypedDict):
    customer_id: Annotated[int, Ge(1)]
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL)]
    name: Annotated[str, MinLen(1), MaxLen(80)]
    age: Annotated[int, Ge(0), Le(150)]
    total: Annotated[float, Ge(0)]
    express: bool
    channel: Literal["web", "mobile", "api"]
    coupon: NotRequired[str | None]
    address: Address
    items: Annotated[list[LineItem], MinLen(1)]
    attributes: dict[str, int]


class MsAddress(TypedDict):
    street: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    zip: Annotated[str, msgspec.Meta(pattern=ZIP)]


class MsLineItem(TypedDict):
    sku: Annotated[str, msgspec.Meta(pattern=SKU)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    price: Annotated[float, msgspec.Meta(ge=0)]


class MsCreateOrder(TypedDict):
    customer_id: Annotated[int, msgspec.Meta(ge=1)]
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    age: Annotated[int, msgspec.Meta(ge=0, le=150)]
    total: Annotated[float, msgspec.Meta(ge=0)]
    express: bool
    channel: Literal["web", "mobile", "api"]
    coupon: NotRequired[str | None]
    address: MsAddress
    items: Annotated[list[MsLineItem], msgspec.Meta(min_length=1)]
    attributes: dict[str, int]


def _p(name: str, gtype: GType, required: bool = True) -> Property:
    return Property(name=name, type=gtype, required=required)


def _s(**kw: Any) -> PrimitiveType:
    return PrimitiveType(type="string", **kw)


GTYPES: dict[str, GType] = {
    "Address": ObjectType(
        name="Address",
        properties=(
            _p("street", _s(minLength=1, maxLength=100)),
            _p("city", _s(minLength=1, maxLength=60)),
            _p("zip", _s(pattern=ZIP)),
        ),
    ),
    "LineItem": ObjectType(
        name="LineItem",
        properties=(
            _p("sku", _s(pattern=SKU)),
            _p("quantity", PrimitiveType(type="integer", minimum=1, maximum=1000)),
            _p("price", PrimitiveType(type="number", minimum=0)),
        ),
    ),
    "CreateOrder": ObjectType(
        name="CreateOrder",
        properties=(
            _p("customer_id", PrimitiveType(type="integer", minimum=1)),
            _p("email", _s(maxLength=254, pattern=EMAIL)),
            _p("name", _s(minLength=1, maxLength=80)),
            _p("age", PrimitiveType(type="integer", minimum=0, maximum=150)),
            _p("total", PrimitiveType(type="number", minimum=0)),
            _p("express", PrimitiveType(type="boolean")),
            _p("channel", LiteralType(values=("web", "mobile", "api"))),
            _p("coupon", UnionType(options=(_s(), NULL)), required=False),
            _p("address", RefType(ref="Address")),
            _p("items", ArrayType(items=RefType(ref="LineItem"), minItems=1)),
            _p("attributes", MapType(keys=_s(), values=PrimitiveType(type="integer"))),
        ),
    ),
}

VALID: dict[str, Any] = {
    "customer_id": 42,
    "email": "ada@example.org",
    "name": "Ada Lovelace",
    "age": 36,
    "total": 99.5,
    "express": True,
    "channel": "web",
    "coupon": None,
    "address": {"street": "12 Analytical Way", "city": "London", "zip": "12345"},
    "items": [
        {"sku": "ABC-1234", "quantity": 2, "price": 19.5},
        {"sku": "XYZ-0001", "quantity": 1, "price": 60.5},
        {"sku": "QRS-0420", "quantity": 3, "price": 0.0},
    ],
    "attributes": {"priority": 1, "gift": 0, "source": 7},
}
INVALID: dict[str, Any] = {
    **VALID,
    "email": "not-an-email",
    "age": -1,
    "channel": "fax",
    "items": [VALID["items"][0], {"sku": "bad", "quantity": 0, "price": 1.0}],
    "attributes": {"priority": "high"},
}

# one error deep in a large body: a bad quantity in the last of four line items
DEEP: dict[str, Any] = {
    **VALID,
    "items": [*VALID["items"], {"sku": "LMN-0007", "quantity": 0, "price": 5.25}],
}


def load_generated() -> ModuleType:
    out = Path(tempfile.mkdtemp(prefix="gati-bench-"))
    for rel, data in emit_validators(GTYPES, [], header="benchmark").items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    spec = importlib.util.spec_from_file_location("_gati_bench_validators", out / "validators" / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def contenders() -> dict[str, tuple[Callable[[Any], object], Callable[[Any], object]]]:
    """name -> (run on valid input, run on invalid input); invalid runs catch their error."""
    gen = load_generated()
    schema = gtypes_json_schema(GTYPES, RefType(ref="CreateOrder"))
    fast_validate = fastjsonschema.compile({k: v for k, v in schema.items() if k != "$schema"})
    js = jsonschema.Draft202012Validator(schema)
    adapter = TypeAdapter(CreateOrder)
    decode, error = gen.decode, gen.DecodeError

    def ours_invalid(x: Any) -> object:
        try:
            return decode("CreateOrder", x)
        except error as exc:
            return exc.issues

    def fast_invalid(x: Any) -> object:
        try:
            return fast_validate(x)
        except fastjsonschema.JsonSchemaValueException as exc:
            return exc

    def pydantic_invalid(x: Any) -> object:
        try:
            return adapter.validate_python(x, strict=True)
        except ValidationError as exc:
            return exc.errors()

    def msgspec_invalid(x: Any) -> object:
        try:
            return msgspec.convert(x, MsCreateOrder)
        except msgspec.ValidationError as exc:
            return exc

    return {
        "gati (generated)": (lambda x: decode("CreateOrder", x), ours_invalid),
        "fastjsonschema": (fast_validate, fast_invalid),
        "jsonschema": (js.is_valid, lambda x: list(js.iter_errors(x))),
        "pydantic strict": (lambda x: adapter.validate_python(x, strict=True), pydantic_invalid),
        "msgspec.convert": (lambda x: msgspec.convert(x, MsCreateOrder), msgspec_invalid),
    }


def measure(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Microseconds per call, best of `rounds`; rounds interleave the contenders so a burst of
    machine noise hits them all rather than one. Each round is short (about 2 ms a contender):
    on a shared machine, many short windows find a quiet one where a few long ones do not."""
    timers = {name: timeit.Timer(run) for name, run in runs.items()}
    numbers = {name: max(1, timer.autorange()[0] // 100) for name, timer in timers.items()}
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(numbers[name]) / numbers[name] * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=150)
    args = parser.parse_args(argv)
    funcs = contenders()
    valid = measure({name: partial(ok, VALID) for name, (ok, _) in funcs.items()}, args.rounds)
    invalid = measure({name: partial(bad, INVALID) for name, (_, bad) in funcs.items()}, args.rounds)
    deep = measure({name: partial(bad, DEEP) for name, (_, bad) in funcs.items()}, args.rounds)
    results = {name: (valid[name], invalid[name], deep[name]) for name in funcs}
    base_valid, base_invalid, base_deep = results["gati (generated)"]
    ratio = f"{'x gati':>7}"
    print(f"{'validator':<18} {'valid us':>9} {ratio} {'6 errors us':>11} {ratio} {'1 deep us':>10} {ratio}")
    for name, (us_valid, us_invalid, us_deep) in results.items():
        print(
            f"{name:<18} {us_valid:>9.2f} {us_valid / base_valid:>7.2f} {us_invalid:>11.2f}"
            f" {us_invalid / base_invalid:>7.2f} {us_deep:>10.2f} {us_deep / base_deep:>7.2f}"
        )
    fast_v = results["fastjsonschema"][0]
    pyd_v, pyd_i, pyd_d = results["pydantic strict"]
    print()
    print(f"goal: >= 3x faster than fastjsonschema on valid: {fast_v / base_valid:.2f}x")
    print(f"goal: within 1.1x of pydantic strict on valid:   {base_valid / pyd_v:.2f}x of pydantic")
    print(f"goal: no slower than pydantic on six errors:     {base_invalid / pyd_i:.2f}x of pydantic")
    print(f"goal: no slower than pydantic on one deep error: {base_deep / pyd_d:.2f}x of pydantic")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
