"""pydantic's class-level configuration, honoured or refused: `model_config` (`extra`, the
standard alias generators, every other `ConfigDict` key checked) and the decorators that run user
code on validation or serialisation. A mixin of `ClassLowering`; docs/pydantic.md tables it.
"""

from __future__ import annotations

from gati_compiler.diagnostics import codes
from gati_compiler.stages.facts import ClassFact, ExCall, ExConst, ExName, Expr, FieldFact
from gati_compiler.stages.lower_common import (
    ALIAS_GENERATORS,
    CONFIG_DEFAULTS,
    CONFIG_INERT,
    PYDANTIC_HOOKS,
    Ctx,
    LowererBase,
    canonical_name,
)
from gati_compiler.stages.resolve import External

WITH_CONFIG = frozenset({"pydantic.with_config", "pydantic.config.with_config"})


class PydanticLowering(LowererBase):
    """The `model_config` and hook checks of pydantic models and dataclasses."""

    def _refuse_hooks(self, cls: ClassFact, ctx: Ctx) -> None:
        """pydantic validators, serializers and computed fields run code gati's decoders and
        encoders would skip: each is a diagnostic, never silently dropped."""
        for method in cls.methods:
            for dec in method.decorators:
                func = dec.func if isinstance(dec, ExCall) else dec
                if not isinstance(func, ExName):
                    continue
                t = self.project.resolve(ctx.module, func.name)
                q = canonical_name(t.qualname) if isinstance(t, External) else ""
                short = q.rsplit(".", 1)[-1]
                if q.startswith("pydantic.") and short in PYDANTIC_HOOKS:
                    self.error(
                        codes.UNSUPPORTED_ANNOTATION,
                        f"`@{short}` on `{cls.name}.{method.name}` runs code that gati's generated "
                        f"{PYDANTIC_HOOKS[short]} would not run",
                        ctx,
                        dec.anchor,
                        help="state the rule with constraints (`Field(pattern=...)`, `Ge`, `MaxLen`, `Literal`) "
                        "or apply it in the handler; see docs/pydantic.md",
                    )

    def _with_config(self, cls: ClassFact, ctx: Ctx) -> dict[str, str]:
        """`@with_config(ConfigDict(...))` (or a dict, or keywords) on a TypedDict or dataclass:
        read as `model_config` is, but an alias generator there is refused."""
        out: dict[str, str] = {}
        for dec in cls.decorators:
            if not isinstance(dec, ExCall) or not isinstance(dec.func, ExName):
                continue
            t = self.project.resolve(ctx.module, dec.func.name)
            if not isinstance(t, External) or canonical_name(t.qualname) not in WITH_CONFIG:
                continue
            value = dec.args[0] if len(dec.args) == 1 and not dec.kwargs else None
            if not dec.args:
                value = ExCall(ExName("builtins.dict", dec.anchor), (), dec.kwargs, dec.anchor)
            out.update(
                self._config_dict(
                    value, dec, "`@with_config(...)`", ctx, 'write `@with_config(ConfigDict(extra="forbid"))`'
                )
            )
        if "alias_generator" in out:
            self.error(
                codes.UNSUPPORTED_ANNOTATION,
                f"`@with_config(alias_generator=...)` on `{cls.name}` is not honoured by gati",
                ctx,
                cls.anchor,
                help="write each field's alias with `Field(alias=...)` or use a pydantic model",
            )
        return out

    def _model_config(self, f: FieldFact, ctx: Ctx) -> dict[str, str]:
        """`model_config = ConfigDict(...)` (or a dict, or `ClassVar[ConfigDict]`): the settings gati
        honours (`extra`, `alias_generator`); every other key is checked by `_config_key`."""
        return self._config_dict(
            f.default, f, "`model_config`", ctx, 'write `model_config = ConfigDict(extra="forbid")`'
        )

    def _config_dict(
        self, value: Expr | None, at: FieldFact | ExCall, what: str, ctx: Ctx, example: str
    ) -> dict[str, str]:
        if not isinstance(value, ExCall) or not isinstance(value.func, ExName) or value.args:
            self.error(
                codes.UNSUPPORTED_ANNOTATION,
                f"{what} must be a `ConfigDict(...)` call gati can read",
                ctx,
                (value or at).anchor,
                help=f"{example} with literal values",
            )
            return {}
        func = value.func.name
        if func != "builtins.dict":
            t = self.project.resolve(ctx.module, func)
            q = canonical_name(t.qualname) if isinstance(t, External) else ""
            if q not in ("pydantic.ConfigDict", "pydantic.config.ConfigDict", "builtins.dict"):
                self.error(
                    codes.UNSUPPORTED_ANNOTATION,
                    f"`model_config = {func}(...)` is not a `ConfigDict` gati can read",
                    ctx,
                    value.anchor,
                    help="write `model_config = ConfigDict(...)` with literal values",
                )
                return {}
        out: dict[str, str] = {}
        for key, v in value.kwargs:
            found = self._config_key(key, v, ctx)
            if found is not None:
                out[key] = found
        return out

    def _config_key(self, key: str, value: Expr, ctx: Ctx) -> str | None:
        """One `ConfigDict` key: its honoured value, None when it does not change the wire
        format; a key that changes what pydantic accepts and gati cannot honour is reported."""
        if key == "extra":
            if isinstance(value, ExConst) and value.value in ("ignore", "forbid", "allow"):
                return str(value.value)
            self._config_error(key, ctx, value, '`extra` takes "ignore", "forbid" or "allow"')
            return None
        if key == "alias_generator":
            if isinstance(value, ExName):
                t = self.project.resolve(ctx.module, value.name)
                q = canonical_name(t.qualname) if isinstance(t, External) else ""
                short = q.rsplit(".", 1)[-1]
                if q.startswith("pydantic.") and short in ALIAS_GENERATORS:
                    return short
            self._config_error(
                key, ctx, value, "use `to_camel`, `to_pascal` or `to_snake` from `pydantic.alias_generators`"
            )
            return None
        if key in CONFIG_INERT:
            return None
        if key in CONFIG_DEFAULTS and isinstance(value, ExConst) and value.value == CONFIG_DEFAULTS[key]:
            return None
        self._config_error(
            key, ctx, value, "see docs/pydantic.md for the `ConfigDict` settings gati honours, and remove this one"
        )
        return None

    def _config_error(self, key: str, ctx: Ctx, value: Expr, help: str) -> None:
        self.error(
            codes.UNSUPPORTED_ANNOTATION,
            f"`ConfigDict({key}=...)` changes what pydantic accepts or produces, and gati does not honour it",
            ctx,
            value.anchor,
            help=help,
        )
