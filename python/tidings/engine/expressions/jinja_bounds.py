"""The bounded Jinja sandbox: the immutable sandbox, plus sizes no one C-level call exceeds.

The time limit (:mod:`.deadline`) stops a template between bytecodes, never inside one
C-level call; so every way a template can build much more than it was given in one call
is checked here *before* the call (the checks are in :mod:`.limits`):

* operators: ``*`` (repetition, integer products), ``**``, ``+``, ``%`` (printf
  formatting, big-integer remainders), ``/`` and ``//``, and ``~`` (concatenation, which
  Jinja compiles to a join: :class:`_BoundedCodeGenerator` routes it here);
* methods called on strings, bytes and integers (``center``, ``ljust``, ``zfill``,
  ``expandtabs``, ``replace``, ``join``, ``translate``, ``split``, ``to_bytes``, …) and
  ``str.format`` (:class:`_BoundedFormatter`);
* filters (``center``, ``indent``, ``wordwrap``, ``format``, ``join``, ``replace``,
  ``batch``, ``slice``, ``round``, ``sum``, ``tojson``, ``sort``, …) and ``lipsum``;
* any conversion of a nested value to text (``string``, ``~``, ``%s``, ``tojson``…),
  whose C-level writer would copy a string as often as the value holds it.

Results of calls, filters and operators longer than :data:`~.limits.MAX_TEXT` are
refused too, so that no chain of bounded steps grows past the bound.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import jinja2
import jinja2.compiler
import jinja2.exceptions
import jinja2.filters
import jinja2.nodes
import jinja2.runtime
import jinja2.sandbox
import jinja2.utils
from markupsafe import Markup

from tidings.engine.expressions.limits import (
    MAX_BUILT_SIZE,
    MAX_INT_BITS,
    MAX_SPLIT_ITEMS,
    MAX_TEXT,
    check_int_operands,
    check_int_size,
    check_items,
    check_printf,
    check_replace,
    check_round,
    check_text,
    check_text_of,
    text_size,
)

__all__ = ["BoundedSandbox"]

# Filters that never write their value as text: everything else does, so a nested value
# given to one is measured first (text_size), as str() of it may be huge.
_NON_TEXT_FILTERS = frozenset(
    {
        "abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float",
        "groupby", "int", "items", "last", "length", "list", "map", "max", "min", "random",
        "reject", "rejectattr", "reverse", "round", "select", "selectattr", "slice",
        "sort", "sum", "unique", "filesizeformat",
    }
)  # fmt: skip
# Values whose text is short or measured in O(1): no walk needed (the common case).
_SCALARS = (str, int, float, bool, type(None))
# Filters that compare or sort (in C) every item: their input is bounded in length.
_SORTING_FILTERS = frozenset({"dictsort", "groupby", "max", "min", "sort", "unique"})
# Characters a format spec may hold: only its numbers matter ('>10', '0=+20.5f').
_NUMBERS = re.compile(r"\d+")
# What str.splitlines() splits at.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LIPSUM_MAX = 100
# JSON's indent is written once per nesting level per line.
_MAX_INDENT = 100


def _value_index(function: Callable[..., Any]) -> int:
    # Filters marked @pass_environment / @pass_context / @pass_eval_context get that first.
    return 1 if jinja2.utils._PassArg.from_obj(function) is not None else 0


def _check_filter(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Check one filter call before it runs; returns ``args`` (an iterable value listed)."""
    value, rest = args[0], args[1:]
    option = kwargs.get

    def arg(index: int, key: str, default: Any) -> Any:
        return rest[index] if len(rest) > index else option(key, default)

    if name not in _NON_TEXT_FILTERS and not isinstance(value, _SCALARS):
        check_text_of(f"{name} filter", value)
    text = value if isinstance(value, str) else ""
    if name == "center":
        width = arg(0, "width", 80)
        check_text(max(len(text), width if isinstance(width, int) else 0), "center filter")
    elif name == "indent":
        width = arg(0, "width", 4)
        per_line = len(width) if isinstance(width, str) else width
        if isinstance(per_line, int):
            check_text(len(text) + (text.count("\n") + 2) * per_line, "indent filter")
    elif name == "wordwrap":
        width, wrap = arg(0, "width", 79), arg(2, "wrapstring", None)
        lines = len(text) // max(width, 1) + text.count("\n") + 2 if isinstance(width, int) else 0
        check_text(len(text) + lines * len(wrap if isinstance(wrap, str) else "\n"), "wordwrap")
    elif name == "format":
        check_printf(str(value), kwargs or rest)
    elif name == "replace":
        count = arg(2, "count", None)
        old, new = arg(0, "old", ""), arg(1, "new", "")
        if isinstance(old, str) and isinstance(new, str):
            check_replace(text, old, new, count if isinstance(count, int) else -1)
    elif name == "join":
        items = list(value)
        separator = arg(0, "d", "")
        between = len(separator) * (len(items) - 1) if isinstance(separator, str) else 0
        check_text(between + text_size(items), "join filter")
        return (items, *rest)
    elif name in ("batch", "slice"):
        count = arg(0, "linecount" if name == "batch" else "slices", 1)
        if isinstance(count, int):
            check_items(count, f"{name} filter", MAX_BUILT_SIZE)
    elif name == "round":
        precision = arg(0, "precision", 0)
        if isinstance(precision, int) and abs(precision) > 1000:
            raise ValueError("round filter: precision beyond 1000 digits")
        check_round(value, precision)
    elif name == "tojson":
        indent = arg(0, "indent", None)
        if (
            isinstance(indent, str | int)
            and (len(indent) if isinstance(indent, str) else abs(indent)) > _MAX_INDENT
        ):
            raise ValueError(f"tojson filter: indent beyond {_MAX_INDENT}")
    elif name == "list" and isinstance(value, str):
        check_items(len(value), "list filter", MAX_BUILT_SIZE)
    elif name in _SORTING_FILTERS:
        items = list(value.items() if isinstance(value, Mapping) and name != "dictsort" else value)
        check_items(len(items), f"{name} filter", MAX_SPLIT_ITEMS)
        if name != "dictsort":
            return (items, *rest)
    return args


def _bounded_sum(
    environment: jinja2.Environment, iterable: Iterable[Any], attribute: Any = None, start: Any = 0
) -> Any:
    """The ``sum`` filter, adding in Python: ``sum()`` of lists in C copies quadratically."""
    if attribute is not None:
        iterable = map(jinja2.filters.make_attrgetter(environment, attribute), iterable)
    total = start
    for item in iterable:
        total = _check_binop("+", total, item)
        total = total + item
    return total


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    index = _value_index(function)

    def bounded(*args: Any, **kwargs: Any) -> Any:
        args = (*args[:index], *_check_filter(name, args[index:], kwargs))
        return _check_result(function(*args, **kwargs), f"{name} filter")

    bounded.__name__ = getattr(function, "__name__", name)
    pass_arg = getattr(function, "jinja_pass_arg", None)
    if pass_arg is not None:
        bounded.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return bounded


def _check_result(result: Any, what: str) -> Any:
    if isinstance(result, str | bytes):
        check_text(len(result), what)
    elif isinstance(result, list | tuple):
        check_items(len(result), what, MAX_BUILT_SIZE)
    return result


def _check_binop(operator: str, left: Any, right: Any) -> Any:
    """Refuse ``left operator right`` if its result would be too large; returns ``left``."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                if len(seq) * times > MAX_BUILT_SIZE:
                    raise jinja2.exceptions.SecurityError(
                        f"repetition result larger than {MAX_BUILT_SIZE} items"
                    )
                if isinstance(seq, str):
                    check_text_of("repetition", seq)
        if isinstance(left, int) and isinstance(right, int):
            check_int_size(left.bit_length() + right.bit_length(), "multiplication")
    elif (
        operator == "**"
        and isinstance(left, int)
        and isinstance(right, int)
        and abs(left) > 1
        and right > 0
        and left.bit_length() * right > MAX_INT_BITS
    ):
        raise jinja2.exceptions.SecurityError(f"power result larger than {MAX_INT_BITS} bits")
    elif operator == "+":
        if isinstance(left, str) and isinstance(right, str):
            check_text(len(left) + len(right), "concatenation")
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            check_items(len(left) + len(right), "concatenation", MAX_BUILT_SIZE)
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right)
    elif operator in ("%", "/", "//"):
        check_int_operands(operator, left, right)
    return left


class _BoundedFormatting:
    """``str.format`` in the sandbox, refusing widths and results past the bound."""

    _written = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        """Format one field, after checking its width and text (and the total so far)."""
        for number in _NUMBERS.findall(format_spec):
            if len(number) > 9 or int(number) > MAX_TEXT:
                check_text(MAX_TEXT + 1, "str.format width")
        check_text_of("str.format", value)
        result = super().format_field(value, format_spec)  # type: ignore[misc]
        self._written += len(result)
        check_text(self._written, "str.format")
        return result


class _BoundedFormatter(_BoundedFormatting, jinja2.sandbox.SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_BoundedFormatting, jinja2.sandbox.SandboxedEscapeFormatter):
    pass


def _check_method(owner: str | bytes | int, name: str, args: tuple[Any, ...]) -> None:
    """Refuse a string, bytes or integer method whose result would be too large."""
    first = args[0] if args else None
    if isinstance(owner, int):
        if name == "to_bytes" and isinstance(first, int):
            check_text(first, "int.to_bytes")
        return
    if name in ("center", "ljust", "rjust", "zfill") and isinstance(first, int):
        check_text(first, f"{name}()")
    elif name == "expandtabs":
        tab = b"\t" if isinstance(owner, bytes) else "\t"
        size = first if isinstance(first, int) else 8
        check_text(len(owner) + owner.count(tab) * max(size, 0), "expandtabs()")  # type: ignore[arg-type]
    elif name == "replace" and isinstance(owner, str) and len(args) >= 2:
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 and isinstance(args[2], int) else -1
        if isinstance(old, str) and isinstance(new, str):
            check_replace(owner, old, new, count)
    elif name == "join":
        items = list(first) if first is not None else []
        check_text(len(owner) * max(len(items) - 1, 0) + text_size(items), "join()")
    elif name == "translate" and isinstance(first, Mapping):
        longest = max((len(v) for v in first.values() if isinstance(v, str | bytes)), default=1)
        check_text(len(owner) * longest, "translate()")
    elif name in ("split", "rsplit"):
        check_items(len(owner) // 2 + 1 if first is None else owner.count(first) + 1, f"{name}()")
    elif name == "splitlines" and isinstance(owner, str):
        check_items(sum(owner.count(c) for c in _LINE_BREAKS) + 1, "splitlines()")


class _BoundedCodeGenerator(jinja2.compiler.CodeGenerator):
    """Jinja's code generator, with ``~`` (concatenation) routed through the sandbox."""

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: jinja2.compiler.Frame) -> None:
        """Write ``environment.concat_bounded((…))`` instead of a plain join."""
        self.write("environment.concat_bounded((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus bounds on every operation that can build a huge value.

    The sandbox already caps ``range()``; see the module's docstring for the rest.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%", "/", "//"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name, function in list(self.filters.items()):
            self.filters[name] = _bounded_filter(name, function)
        self.filters["sum"] = _bounded_filter("sum", jinja2.pass_environment(_bounded_sum))
        lipsum = cast(Callable[..., Any], self.globals["lipsum"])

        def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
            # Generating paragraphs is Python-level, but what they fill is not bounded.
            if n > _LIPSUM_MAX or max > _LIPSUM_MAX * 10:
                raise ValueError(f"lipsum() beyond {_LIPSUM_MAX} paragraphs")
            return lipsum(n, html, min, max)

        self.globals["lipsum"] = bounded_lipsum

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        """Refuse an operation whose result would be unreasonably large, else do it."""
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def concat_bounded(self, values: tuple[Any, ...]) -> str:
        """``a ~ b ~ …``: the text of every value, refused past the bound before writing."""
        check_text_of("~ concatenation", *values)
        return "".join(map(str, values))

    def call(
        __self,
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Call an object from sandboxed code, refusing calls whose result would be too large."""
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes | int) and not isinstance(owner, bool):
            _check_method(owner, getattr(__obj, "__name__", ""), args)
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_result(result, f"{getattr(__obj, '__name__', 'call')}()")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` / ``str.format_map`` in the sandbox, with bounded fields."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            formatter: jinja2.sandbox.SandboxedFormatter
            if isinstance(owner, Markup):
                formatter = _BoundedEscapeFormatter(self, escape=owner.escape)
            else:
                formatter = _BoundedFormatter(self)
            if is_format_map:
                if kwargs or len(args) != 1:
                    return wrapped(*args, **kwargs)  # its own error
                kwargs, args = args[0], ()
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return bounded
