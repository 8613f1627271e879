"""The two errors of expressions: one that does not parse, one that fails when evaluated."""

from __future__ import annotations

__all__ = ["ExpressionError", "ExpressionSyntaxError"]


class ExpressionSyntaxError(ValueError):
    """An expression does not parse; ``expression`` is its text, ``message`` the parser's."""

    def __init__(self, expression: str, message: str) -> None:
        self.expression = expression
        self.message = message
        super().__init__(f"bad expression {expression!r}: {message}")


class ExpressionError(ValueError):
    """An expression failed while being evaluated; ``expression`` is its text."""

    def __init__(self, expression: str, message: str) -> None:
        self.expression = expression
        self.message = message
        # No expression: a value built of several expressions and literals.
        super().__init__(f"expression {expression!r} failed: {message}" if expression else message)
