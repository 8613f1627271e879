"""Every workflow example of docs/workflow-language.md is a definition tidings accepts.

The sections' own tests run their examples (test_engine_outputs, test_subworkflows,
test_with_items, ...); this one makes sure no example of the reference is left that
tidings would refuse: a user copies them first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tidings.engine.actions import action_specs, default_registry
from tidings.engine.dsl import DefinitionError
from tidings.engine.dsl.parse import parse_definition

DOC = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
EXAMPLES = [b for b in _BLOCK.findall(DOC.read_text(encoding="utf-8")) if "version:" in b]


def test_the_reference_has_its_examples() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_each_example_is_accepted(example: str) -> None:
    try:
        parse_definition(example, action_specs(default_registry()))
    except DefinitionError as exc:
        pytest.fail(f"{exc}\n{example}")
