"""Differential test: every workflow of ``tests/mistral/cases/`` runs in real OpenStack
Mistral (``scripts/mistral``) and in tidings, and the two must agree.

Compared, per case: accepted or refused (at create; then at start), the final execution
state, its output, and the multiset of (task name, final state, published values). What
legitimately differs is normalised first (ids; the wording of an error message). Cases
listed in ``tests/mistral/pending.toml`` (a construct tidings lacks yet) must still
disagree, and those in ``tests/mistral/differences.toml`` (deliberate, documented in
docs/workflow-language.md) must differ in exactly the aspects they name: when one starts
to agree, its entry has to go. ``tests/mistral/README.md`` describes the layout.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from atom_server import AtomServer, Reply
from engine_client import EngineClient, plain, struct, tname, typed, wait_for, xname
from mistral_server import MistralClient, MistralError, MistralServer, Refused
from tidings.v1 import execution_pb2, workflow_pb2
from tidings_process import TidingsProcess

# The first test's setup starts Mistral (on a fresh machine: installs RabbitMQ and builds
# Mistral's venv first) and runs the whole corpus in both engines.
pytestmark = [pytest.mark.mistral, pytest.mark.timeout(1800)]

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "mistral"
CASES = CORPUS / "cases"
DOC = HERE.parent / "docs" / "workflow-language.md"
#: How long one execution may take to settle in either engine.
SETTLE_S = 90.0
#: The placeholder a definition or an input may hold for the atom server's base URL.
ATOMS = "@ATOMS@"
ASPECTS = ("accepted", "started", "state", "output", "tasks")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ERROR_MESSAGE = "<error message>"


# ------------------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Case:
    """One workflow definition of the corpus, how to run it and what it covers."""

    name: str
    definition: str
    input: dict[str, Any]
    #: The workflow to start (a workbook's as ``book.workflow``).
    workflow: str
    #: Mistral's execution ``params`` (``env``, ``task_name`` of a reverse workflow).
    params: dict[str, Any]
    workbook: bool
    covers: tuple[str, ...]
    #: Mistral refuses it (at create or at start): a case of what must be refused.
    refused: bool
    #: The workflow names the definition creates (unique across the corpus).
    creates: tuple[str, ...]


def _load_case(spec_path: Path) -> Case:
    name = spec_path.stem
    spec = json.loads(spec_path.read_text())
    definition = (CASES / f"{name}.yaml").read_text()
    workbook = bool(spec.get("workbook", False))
    try:
        doc = yaml.safe_load(definition)
    except yaml.YAMLError:
        doc = None  # a refusal case may be malformed on purpose
    if not isinstance(doc, dict):
        creates: tuple[str, ...] = ()
    elif workbook:
        creates = tuple(f"{doc['name']}.{wf}" for wf in doc.get("workflows", {}))
    else:
        creates = tuple(k for k in doc if k != "version")
    workflow = spec.get("workflow") or (creates[0] if len(creates) == 1 else "")
    assert workflow, f"{name}: several workflows; say which one to start ('workflow')"
    return Case(
        name=name,
        definition=definition,
        input=spec.get("input", {}),
        workflow=workflow,
        params=spec.get("params", {}),
        workbook=workbook,
        covers=tuple(spec["covers"]),
        refused=bool(spec.get("refused", False)),
        creates=creates,
    )


def load_cases() -> list[Case]:
    """Every case: ``cases/<name>.yaml`` (the definition) with ``cases/<name>.json``."""
    return [_load_case(p) for p in sorted(CASES.glob("*.json"))]


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads((CORPUS / name).read_text())


CORPUS_CASES = load_cases()
PENDING: dict[str, str] = _toml("pending.toml").get("pending", {})
DIFFERENCES: dict[str, dict[str, Any]] = _toml("differences.toml").get("differences", {})
CONSTRUCTS: dict[str, str] = _toml("constructs.toml")["constructs"]
ATOM_REPLIES: dict[str, dict[str, Any]] = json.loads((CORPUS / "atoms.json").read_text())


def _substitute(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return value.replace(ATOMS, base)
    if isinstance(value, list):
        return [_substitute(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, base) for k, v in value.items()}
    return value


# ----------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    """What one engine made of one case, normalised to Mistral's names."""

    accepted: bool = False
    started: bool = False
    state: str = ""
    output: Any = None
    #: Sorted (task name, state, published as canonical JSON).
    tasks: list[tuple[str, str, str]] = field(default_factory=list)
    #: Why it was refused, or the execution's error (shown, never compared).
    note: str = ""
    #: The harness itself failed (not an outcome: the case's test fails).
    broken: str = ""
    #: From the start request to the settled state (shown, never compared).
    seconds: float = 0.0

    def aspects(self) -> dict[str, Any]:
        """The compared aspects."""
        return {a: getattr(self, a) for a in ASPECTS}


def normalise(value: Any) -> Any:
    """Ids differ between engines: every UUID in a string becomes ``<uuid>``.

    Numbers are compared as they cross tidings' typed API (docs/api.md, "Typed values"):
    there ``2.0`` and ``2`` are one Value, so Mistral's are read the same way.
    """
    if type(value) in (int, float):
        return plain(typed(value))
    if isinstance(value, str):
        return _UUID.sub("<uuid>", value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def _output(state: str, output: Any) -> Any:
    output = normalise(output)
    # A failed execution's output holds the error as `result` (Mistral's own wording).
    if state == "ERROR" and isinstance(output, dict) and isinstance(output.get("result"), str):
        output = {**output, "result": _ERROR_MESSAGE}
    # No output yet (a paused execution): Mistral shows {}, tidings nothing.
    if state not in ("SUCCESS", "ERROR") and output == {}:
        output = None
    return output


def _task_key(name: str, state: str, published: Any) -> tuple[str, str, str]:
    return (name, state, json.dumps(normalise(published or {}), sort_keys=True))


def run_in_mistral(client: MistralClient, case: Case, base: str) -> Outcome:
    """Create, start and run a case in Mistral."""
    out = Outcome()
    definition = case.definition.replace(ATOMS, base)
    try:
        if case.workbook:
            client.create_workbook(definition)
        else:
            client.create_workflows(definition)
    except Refused as exc:
        out.note = exc.message
        return out
    out.accepted = True
    try:
        execution_id = client.start(case.workflow, _substitute(case.input, base), case.params)
    except Refused as exc:
        out.note = exc.message
        return out
    out.started = True
    began = time.monotonic()
    try:
        ex = client.wait_until_settled(execution_id, SETTLE_S)
    except MistralError as exc:
        ex = client.execution(execution_id)
        out.note = str(exc)
    out.seconds = time.monotonic() - began
    out.state = ex["state"]
    out.note = out.note or (ex.get("state_info") or "")
    out.output = _output(out.state, ex["output"])
    out.tasks = sorted(
        _task_key(t["name"], t["state"], t["published"]) for t in client.tasks(execution_id)
    )
    return out


#: tidings' task states under Mistral's names. A task that has not begun is WAITING in
#: tidings; in a settled execution that is one held by pause-before: Mistral's IDLE.
_TASK_STATES = {"RUNNING_ASYNC": "RUNNING", "WAITING": "IDLE"}


def run_in_tidings(client: EngineClient, case: Case, base: str) -> Outcome:
    """Create, start and run a case in tidings."""
    out = Outcome()
    try:
        # One call for a workflow, several or a workbook: each workflow it defines is
        # created (a workbook's as `book.workflow`), as Mistral's two endpoints do.
        created = client.workflows.CreateWorkflow(
            workflow_pb2.CreateWorkflowRequest(definition=case.definition.replace(ATOMS, base))
        )
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        out.note = exc.details() or ""
        return out
    out.accepted = True
    names = [w.name for w in created.workflows]
    assert case.workflow in names, f"{case.name}: {case.workflow!r} is not among {names}"
    # Mistral's params as StartExecution's fields.
    start: dict[str, Any] = {}
    if "env" in case.params:
        start["env"] = struct(_substitute(case.params["env"], base))
    if "task_name" in case.params:
        start["task_name"] = case.params["task_name"]
    unmapped = sorted(set(case.params) - {"env", "task_name"})
    if unmapped:
        # StartExecution has no way yet to pass these: whoever adds one maps it here.
        out.note = f"the harness cannot pass params {unmapped} to tidings"
        return out
    try:
        ex = client.start(case.workflow, _substitute(case.input, base), **start)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        out.note = exc.details() or ""
        return out
    out.started = True
    began = time.monotonic()
    running = execution_pb2.ExecutionState.EXECUTION_STATE_RUNNING
    try:
        ex = wait_for(lambda: client.get(ex.id), lambda e: e.state != running, SETTLE_S, "the end")
    except AssertionError as exc:
        ex = client.get(ex.id)
        out.note = str(exc)
    out.seconds = time.monotonic() - began
    out.state = xname(ex.state)
    out.note = out.note or ex.error_message
    output = plain(ex.output)
    out.output = _output(out.state, output)
    out.tasks = sorted(
        _task_key(
            t.name,
            _TASK_STATES.get(tname(t.state), tname(t.state)),
            plain(t.published),
        )
        for t in client.tasks(ex.id)
    )
    return out


def differences(mistral: Outcome, tidings: Outcome) -> list[str]:
    """The aspects on which the two outcomes differ."""
    m, t = mistral.aspects(), tidings.aspects()
    return [a for a in ASPECTS if m[a] != t[a]]


def _guarded(run: Any, *args: Any) -> Outcome:
    try:
        outcome: Outcome = run(*args)
        return outcome
    except Exception as exc:  # the harness broke: the case's test says how
        return Outcome(broken=f"{type(exc).__name__}: {exc}")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mistral() -> Iterator[MistralServer]:
    """Real Mistral for this module; if it cannot start, every test here fails."""
    with MistralServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("mistral_differential") / "data") as process:
        yield process


def _atom_server() -> AtomServer:
    atoms = AtomServer()
    for path, reply in ATOM_REPLIES.items():
        atoms.script(path, Reply(reply.get("status", 200), reply.get("body")))
    return atoms


def _selected(session: pytest.Session) -> list[Case]:
    # Only the cases whose tests this session runs (`-k name` runs one case, not 112).
    chosen = {
        str(item.callspec.id)
        for item in session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_case"
        and item.module is not None
        and item.module.__name__ == __name__
    }
    return [c for c in CORPUS_CASES if c.name in chosen]


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, mistral: MistralServer, server: TidingsProcess
) -> Iterator[dict[str, tuple[Outcome, Outcome]]]:
    """The selected cases run in both engines, all at once; each engine calls its own atom
    server (same replies), so that what one engine's calls change the other's do not see."""
    with (
        MistralClient(mistral.url) as m_client,
        EngineClient(server.address) as t_client,
        _atom_server() as m_atoms,
        _atom_server() as t_atoms,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        futures = {
            case.name: (
                pool.submit(_guarded, run_in_mistral, m_client, case, m_atoms.url("").rstrip("/")),
                pool.submit(_guarded, run_in_tidings, t_client, case, t_atoms.url("").rstrip("/")),
            )
            for case in _selected(request.session)
        }
        yield {name: (m.result(), t.result()) for name, (m, t) in futures.items()}


# -------------------------------------------------------------------------------- tests


def test_the_corpus_is_whole() -> None:
    assert len(CORPUS_CASES) >= 60
    yamls = {p.stem for p in CASES.glob("*.yaml")}
    assert yamls == {c.name for c in CORPUS_CASES}, "a definition without its .json or back"
    names = Counter(n for c in CORPUS_CASES for n in c.creates)
    assert not [n for n, k in names.items() if k > 1], "workflow names must be unique"
    known = {c.name for c in CORPUS_CASES}
    assert set(PENDING) <= known, set(PENDING) - known
    assert set(DIFFERENCES) <= known, set(DIFFERENCES) - known
    assert not set(PENDING) & set(DIFFERENCES)
    covered = {k for c in CORPUS_CASES for k in c.covers}
    assert covered <= set(CONSTRUCTS), covered - set(CONSTRUCTS)
    assert set(CONSTRUCTS) <= covered, f"constructs no case covers: {set(CONSTRUCTS) - covered}"


def test_deliberate_differences_are_documented() -> None:
    doc = DOC.read_text()
    for name, entry in DIFFERENCES.items():
        assert entry.get("reason"), f"{name}: say why it differs"
        assert set(entry.get("aspects", [])) <= set(ASPECTS) and entry.get("aspects"), name
        assert entry.get("doc") and entry["doc"] in doc, (
            f"{name}: docs/workflow-language.md must explain it ({entry.get('doc')!r})"
        )


def _report(case: Case, m: Outcome, t: Outcome) -> str:
    lines = [f"case {case.name} ({', '.join(case.covers)})"]
    for aspect in ASPECTS:
        mv, tv = getattr(m, aspect), getattr(t, aspect)
        mark = "  " if mv == tv else "≠ "
        lines.append(f"{mark}{aspect}: mistral {mv!r}")
        if mv != tv:
            lines.append(f"{' ' * (len(aspect) + 4)}tidings {tv!r}")
    lines.append(f"  mistral said: {m.note[:600]}")
    lines.append(f"  tidings said: {t.note[:600]}")
    return "\n".join(lines)


@pytest.mark.parametrize("case", CORPUS_CASES, ids=lambda c: c.name)
def test_case(case: Case, outcomes: dict[str, tuple[Outcome, Outcome]]) -> None:
    m, t = outcomes[case.name]
    assert not m.broken, f"Mistral side of {case.name} broke: {m.broken}"
    assert not t.broken, f"tidings side of {case.name} broke: {t.broken}"
    differ = differences(m, t)
    report = _report(case, m, t)
    # The corpus itself: a case is valid Mistral, or one that Mistral must refuse.
    if case.refused == m.started:
        pytest.fail(
            f"{case.name}: Mistral {'ran' if m.started else 'refused'} it, but its .json says "
            f"{'refused' if case.refused else 'it runs'}: fix the case\n{report}",
            pytrace=False,
        )
    if case.name in PENDING:
        if not differ:
            pytest.fail(
                f"{case.name} now agrees with Mistral: remove it from tests/mistral/pending.toml "
                f"(it waited for: {PENDING[case.name]})\n{report}",
                pytrace=False,
            )
    elif case.name in DIFFERENCES:
        expected = DIFFERENCES[case.name]["aspects"]
        if differ != [a for a in ASPECTS if a in expected]:
            pytest.fail(
                f"{case.name} should differ in {expected} only (tests/mistral/differences.toml)"
                f"\n{report}",
                pytrace=False,
            )
    elif differ:
        pytest.fail(f"{case.name} disagrees with Mistral\n{report}", pytrace=False)
