"""Plain rows of the store's tables, and the unit of writing: a `Change`."""

from __future__ import annotations

from dataclasses import dataclass, field

from tidings.store.columns import etag_of, to_json
from tidings.store.listeners import ListenerRow


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

    def columns(self) -> tuple[object, ...]:
        """The row's column values, JSON fields encoded (a snapshot)."""
        return (self.id, self.name, self.definition, self.description, to_json(self.input_names),
                self.callback_url, self.modify_callback_url, self.create_time,
                self.update_time)  # fmt: skip

    def etag(self) -> str:
        """The workflow's etag: changes on every update (AIP-154)."""
        return etag_of(self.columns())


@dataclass(slots=True)
class EnvironmentRow:
    """A named environment (Mistral's): variables an execution may start with."""

    name: str
    description: str
    variables: dict[str, object]
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
    #: Which run this is: 1, and one more each time the ended execution is re-run
    #: (RetryTask / SkipTask after it failed).
    run: int = 1
    #: Custom headers given at start, in order, as ``[key, value]`` pairs (tencent
    #: ``CosHeaders``).
    headers: list[list[str]] = field(default_factory=list)
    #: The environment given at start (Mistral's ``env``), what ``env()`` returns.
    env: dict[str, object] = field(default_factory=dict)
    #: A sub-workflow's execution: the execution and task that started it ("" if none).
    parent_execution_id: str = ""
    parent_task_id: str = ""
    #: The top of its tree of sub-workflows ("": it is the top itself).
    root_execution_id: str = ""
    #: Transitions that reached a task while the execution was paused, held until it is
    #: resumed (Mistral's command backlog): ``{"task": name, "trigger": {…}}`` in order.
    backlog: list[dict[str, object]] = field(default_factory=list)
    #: The target task of a reverse workflow's execution (Mistral's ``task_name``
    #: param); empty for a direct workflow.
    task_name: str = ""
    #: W3C trace context of the RPC that started it (``traceparent``, ``tracestate``;
    #: empty while tracing was off): its events carry it, its task attempts continue it.
    traceparent: str = ""
    tracestate: str = ""

    def columns(self) -> tuple[object, ...]:
        """The row's column values, JSON fields encoded (a snapshot)."""
        return (self.id, self.workflow_id, self.workflow_name, self.definition, self.state,
                to_json(self.input), to_json(self.output), to_json(self.context),
                self.error_message, self.request_id, to_json(self.notify), self.timeout_s,
                self.next_seq, self.create_time, self.update_time, self.end_time,
                self.run, to_json(self.headers), to_json(self.env),
                self.parent_execution_id, self.parent_task_id,
                self.root_execution_id, to_json(self.backlog), self.task_name,
                self.traceparent, self.tracestate)  # fmt: skip


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
    #: The run of its execution in which the task last ran (created, retried, skipped).
    run: int = 1
    #: The variables the task published (its `publish`, evaluated); empty when none.
    published: dict[str, object] = field(default_factory=dict)
    #: A with-items task's progress once it has begun: ``concurrency`` (0: no bound) and
    #: ``outcomes``, one per item in order: null (not called yet), ``{"state": "RUNNING"}``
    #: (called), or ``{"state", "result", "error"}`` (its call's outcome). None otherwise.
    items: dict[str, object] | None = None
    #: It ended and a transition led on to a task (Mistral's ``has_next_tasks``): the
    #: variables of a task that did not are part of the execution's default output.
    has_next: bool = False
    #: It failed and no ``on-error`` transition handled it: the execution fails once
    #: nothing else runs.
    unhandled: bool = False

    def columns(self) -> tuple[object, ...]:
        """The row's column values, JSON fields encoded (a snapshot)."""
        return (self.id, self.execution_id, self.name, self.state, self.action, self.atom_id,
                to_json(self.input), to_json(self.result), self.error_message, self.attempt,
                to_json(self.triggered_by), to_json(self.arrivals), self.run_after,
                None if self.pending is None else to_json(self.pending), self.rollback_state,
                self.create_time, self.update_time, self.end_time, self.run,
                to_json(self.published),
                None if self.items is None else to_json(self.items),
                int(self.has_next), int(self.unhandled))  # fmt: skip


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
class DeliveryRow:
    """Where one event stands with one webhook listener."""

    listener_id: str
    event_id: str
    execution_id: str
    sequence: int
    type: int
    position: int
    event_time: float
    #: PENDING (queued behind a failure), DELIVERED, FAILED (will retry), DEAD.
    state: str
    attempts: int
    next_attempt_time: float | None
    last_error: str
    update_time: float

    def columns(self) -> tuple[object, ...]:
        """The row's column values (a snapshot)."""
        return (self.listener_id, self.event_id, self.execution_id, self.sequence, self.type,
                self.position, self.event_time, self.state, self.attempts,
                self.next_attempt_time, self.last_error, self.update_time)  # fmt: skip


@dataclass(slots=True, frozen=True)
class Committed:
    """What one committed transaction tells the readers of the outbox (`Store.on_committed`)."""

    #: The outbox position at the end of the transaction: every event up to it is readable.
    position: int
    #: The ids of the listeners it wrote or deleted.
    listeners: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Pruned:
    """What one retention step did (`Store.prune`)."""

    #: The newest position it looked at: the next step starts after it.
    scanned_to: int
    #: Events removed.
    events: int
    #: Delivery records removed (each with its attempts).
    deliveries: int
    #: Nothing older is left to look at: start again from the oldest next time.
    done: bool
    #: The newest position of the events it removed (0: none).
    removed_upto: int = 0


@dataclass(slots=True, frozen=True)
class AttemptRow:
    """One try at delivering an event to a listener."""

    listener_id: str
    event_id: str
    time: float
    #: The HTTP status; 0 when there was no answer.
    http_status: int
    error: str
    latency: float
    snippet: str


#: How long a Create request's request_id is remembered (AIP-155): a retry within this
#: time answers as the first request did. Older records are removed as new ones come.
REQUEST_ID_KEEP_S = 7 * 24 * 3600.0


@dataclass(slots=True)
class CreateRequestRow:
    """A Create request made with a ``request_id``: what it asked, what it made.

    ``kind`` is the resource (``workflow``, ``listener``); ``digest`` stands for the
    whole request (the API's); ``made`` names what it created, by kind
    (``{"workflows": [...], "listeners": [...]}``).
    """

    kind: str
    request_id: str
    digest: str
    made: dict[str, list[str]]
    create_time: float

    def columns(self) -> tuple[object, ...]:
        """The row's column values, JSON fields encoded (a snapshot)."""
        return (self.kind, self.request_id, self.digest, to_json(self.made), self.create_time)


@dataclass(slots=True)
class Change:
    """Everything one state change writes; committed in one transaction.

    Rows are snapshotted when added: the engine keeps mutating its in-memory rows while
    the change waits for its transaction, and the database must get the state as it was
    when the change (and its events) were made.
    """

    workflows: list[tuple[object, ...]] = field(default_factory=list)
    deleted_workflows: list[str] = field(default_factory=list)
    executions: list[tuple[object, ...]] = field(default_factory=list)
    tasks: list[tuple[object, ...]] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    deliveries: list[tuple[object, ...]] = field(default_factory=list)
    attempts: list[AttemptRow] = field(default_factory=list)
    listeners: list[tuple[object, ...]] = field(default_factory=list)
    deleted_listeners: list[str] = field(default_factory=list)
    opened_cursors: list[str] = field(default_factory=list)
    dropped_cursors: list[str] = field(default_factory=list)
    requests: list[tuple[object, ...]] = field(default_factory=list)

    def put_workflow(self, row: WorkflowRow) -> None:
        """Insert or update a workflow."""
        self.workflows.append(row.columns())

    def delete_workflow(self, workflow_id: str) -> None:
        """Delete a workflow."""
        self.deleted_workflows.append(workflow_id)

    def put_execution(self, row: ExecutionRow) -> None:
        """Insert or update an execution, as it is now."""
        self.executions.append(row.columns())

    def put_task(self, row: TaskRow) -> None:
        """Insert or update a task, as it is now."""
        self.tasks.append(row.columns())

    def put_delivery(self, row: DeliveryRow) -> None:
        """Insert or update a delivery, as it is now."""
        self.deliveries.append(row.columns())

    def add_attempt(self, row: AttemptRow) -> None:
        """Record a delivery attempt."""
        self.attempts.append(row)

    def add_event(self, row: EventRow) -> None:
        """Append an event to the outbox."""
        self.events.append(row)

    def put_listener(self, row: ListenerRow) -> None:
        """Insert or update a listener, as it is now."""
        self.listeners.append(row.columns())

    def delete_listener(self, listener_id: str) -> None:
        """Delete a listener."""
        self.deleted_listeners.append(listener_id)

    def put_request(self, row: CreateRequestRow) -> None:
        """Remember a Create request's request_id with what it made."""
        self.requests.append(row.columns())

    def open_cursor(self, target_id: str) -> None:
        """Start a reader of the outbox after everything committed before this change.

        The reader hears this change's own events and every later one (changes queued
        earlier commit first, even when they share this change's transaction). A reader
        that has a cursor already keeps it.
        """
        self.opened_cursors.append(target_id)

    def drop_cursor(self, target_id: str) -> None:
        """Forget a reader's cursor (none: nothing happens).

        Drops come before opens in one change: dropping and opening the same reader
        starts it afresh.
        """
        self.dropped_cursors.append(target_id)

    def __bool__(self) -> bool:
        return bool(
            self.workflows or self.deleted_workflows or self.executions or self.tasks
            or self.events or self.deliveries or self.attempts or self.listeners
            or self.deleted_listeners or self.opened_cursors or self.dropped_cursors
            or self.requests
        )  # fmt: skip
