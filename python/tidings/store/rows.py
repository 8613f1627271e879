"""Plain rows of the store's tables, and the unit of writing: a `Change`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class WorkflowRow:
    """A stored workflow definition."""

    id: str
    name: str
    definition: str
    description: str
    input_names: list[str]
    callback_url: str
    modify_callback_url: str
    create_time: float
    update_time: float


@dataclass(slots=True)
class ExecutionRow:
    """An execution; `context` holds the inputs plus published variables."""

    id: str
    workflow_id: str
    workflow_name: str
    #: The definition the execution runs (a snapshot: the workflow may change later).
    definition: str
    state: str
    input: object
    output: object
    context: dict[str, object]
    error_message: str
    request_id: str
    notify: list[dict[str, object]]
    timeout_s: float
    #: Events written so far; the next event gets `next_seq`.
    next_seq: int
    create_time: float
    update_time: float
    end_time: float | None


@dataclass(slots=True)
class TaskRow:
    """One task instance of an execution (a task may run several times in a loop)."""

    id: str
    execution_id: str
    name: str
    state: str
    action: str
    atom_id: str
    input: object
    result: object
    error_message: str
    attempt: int
    triggered_by: list[dict[str, str]]
    #: Join tasks: the transitions that have arrived so far.
    arrivals: list[dict[str, str]]
    #: Not before this time (wait-before, retry delay, wait-after); 0 means now.
    run_after: float
    #: The outcome recorded but not yet acted on (wait-after), if any.
    pending: dict[str, object] | None
    rollback_state: str
    create_time: float
    update_time: float
    end_time: float | None


@dataclass(slots=True)
class EventRow:
    """One event in the outbox.

    The canonical `tidings.v1.Event` bytes plus the columns the dispatcher filters and
    orders on.
    """

    id: str
    execution_id: str
    sequence: int
    type: int
    workflow_id: str
    workflow_name: str
    time: float
    body: bytes
    #: Assigned by the store on commit (the outbox position).
    position: int = 0


@dataclass(slots=True)
class Change:
    """Everything one state change writes; committed in one transaction."""

    workflows: list[WorkflowRow] = field(default_factory=list)
    deleted_workflows: list[str] = field(default_factory=list)
    executions: list[ExecutionRow] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.workflows or self.deleted_workflows or self.executions or self.tasks or self.events
        )
