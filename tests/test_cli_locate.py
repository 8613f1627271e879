"""`tidings workflow validate` finds the line a violation's field path points at."""

from __future__ import annotations

from tidings.cli.locate import line_of, segments

DEFINITION = """version: '2.0'
wf:
  tasks:
    "a b":
      action: std.noop
      on-success:
        - c: <% true %>
    c:
      action: std.echo
"""


def test_segments_read_words_quoted_keys_and_indexes() -> None:
    assert segments('definition.tasks["a b"].on-success[0].c') == [
        "definition", "tasks", "a b", "on-success", 0, "c",
    ]  # fmt: skip
    assert segments('tasks["say \\"hi\\""]') == ["tasks", 'say "hi"']


def test_line_of_walks_the_path_as_deep_as_the_text_goes() -> None:
    assert line_of(DEFINITION, 'definition.tasks["a b"].on-success[0].c') == 7
    assert line_of(DEFINITION, "definition.tasks.c.action") == 9
    assert line_of(DEFINITION, "definition.tasks.c.retry.count") == 8  # not written: its task
    assert line_of(DEFINITION, 'definition.tasks["a b"].on-success') == 6
    assert line_of(DEFINITION, "version") == 1
    assert line_of(DEFINITION, "definition") == 1
    assert line_of("{'a': [", "definition.a") is None  # not YAML: the server says where


def test_line_of_reads_json_definitions_too() -> None:
    text = '{"version": "2.0",\n "wf": {"tasks":\n  {"a": {"action": "x"}}}}'
    assert line_of(text, "definition.tasks.a.action") == 3
