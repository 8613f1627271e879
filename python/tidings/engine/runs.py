"""The executions the engine holds in memory: those it drives, and those recently ended.

The engine's rows are ahead of the store's (a change is queued before it commits), so
reads of an execution or its tasks look here first and in the store only for what is not
held. Ended executions stay until the change that ended them has committed: operations
right after the end (retry, skip, rollback, get) must see the state the engine made even
before its commit lands; after it, the store has the same, and holding on to thousands
of ended runs would only make the heap, and each full collection of it, larger.
"""

from __future__ import annotations

import copy
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence

from tidings.engine import dsl
from tidings.engine.execution import Run, driven_workflow
from tidings.engine.expressions import DEFAULT_TIME_LIMIT_S
from tidings.errors import not_found
from tidings.store import ExecutionRow, Store, TaskRow
from tidings.vocab import EXECUTION_ENDED

__all__ = ["RECENTLY_ENDED", "Runs"]

#: Ended executions kept in memory at most (each only until its end has committed).
RECENTLY_ENDED = 10_000


class Runs:
    """Runs by execution id, and which execution each of their tasks belongs to."""

    def __init__(
        self,
        store: Store,
        parse: Callable[[str, str], Awaitable[dsl.Workflow]],
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    ) -> None:
        #: How long one evaluation of an expression may run, in every run made here.
        self.time_limit_s = time_limit_s
        self._store = store
        #: Parses a stored execution's definition (its workflow of that name), off the
        #: event loop (raises if it is no longer valid).
        self._parse = parse
        #: The runs the engine drives, by execution id.
        self.live: dict[str, Run] = {}
        self._ended: OrderedDict[str, Run] = OrderedDict()
        self._task_index: dict[str, str] = {}  # task id -> execution id
        # Changes the engine has queued, numbered in order (they commit in that order);
        # each ended run waits for the first numbered after its end was made.
        self._queued = 0
        self._unsettled: deque[tuple[int, str]] = deque()
        self._end_mark: dict[str, int] = {}

    def get(self, execution_id: str) -> Run | None:
        """The run if it is held: driven, or recently ended."""
        return self.live.get(execution_id) or self._ended.get(execution_id)

    def index(self, run: Run, tasks: list[TaskRow]) -> None:
        """Record which execution the (new) tasks belong to."""
        for t in tasks:
            self._task_index[t.id] = run.row.id

    def forget(self, run: Run) -> None:
        """The run has ended: keep it among the recently ended until its end commits.

        Call it before the change that ends the run is queued (:meth:`queued`).
        """
        ex_id = run.row.id
        self.live.pop(ex_id, None)
        self._ended[ex_id] = run
        self._ended.move_to_end(ex_id)
        # The change that ended it is queued next, or before the next one numbered.
        mark = self._queued + 1
        self._end_mark[ex_id] = mark
        self._unsettled.append((mark, ex_id))
        while len(self._ended) > RECENTLY_ENDED:
            self._drop(next(iter(self._ended)))

    def queued(self) -> int:
        """Number the change about to be queued (see :meth:`committed`)."""
        self._queued += 1
        return self._queued

    def committed(self, number: int) -> None:
        """Change `number` has committed, and all before it: drop the runs they ended.

        A run driven again meanwhile (and maybe ended again, by a later change) stays.
        """
        unsettled = self._unsettled
        while unsettled and unsettled[0][0] <= number:
            mark, ex_id = unsettled.popleft()
            if self._end_mark.get(ex_id) == mark and ex_id in self._ended:
                self._drop(ex_id)

    def _drop(self, ex_id: str) -> None:
        old = self._ended.pop(ex_id)
        self._end_mark.pop(ex_id, None)
        for t in old.tasks.values():
            self._task_index.pop(t.id, None)

    def revive(self, run: Run) -> None:
        """The run is driven (again: retry, skip, rollback; or after loading it)."""
        self._ended.pop(run.row.id, None)
        self._end_mark.pop(run.row.id, None)
        self.live[run.row.id] = run
        self.index(run, list(run.tasks.values()))

    def run_of(self, ex: ExecutionRow, workflow: dsl.Workflow, tasks: Sequence[TaskRow]) -> Run:
        """The run of a stored execution and its tasks (in creation order)."""
        return Run(
            ex,
            driven_workflow(workflow, ex),
            {t.id: t for t in tasks},
            time_limit_s=self.time_limit_s,
        )

    async def execution(self, execution_id: str) -> ExecutionRow:
        """An execution by id (a copy of the live row when the engine holds it)."""
        run = self.get(execution_id)
        if run is not None:
            return copy.copy(run.row)
        row = await self._store.get_execution(execution_id)
        if row is None:
            raise not_found("execution", execution_id)
        return row

    async def load(self, execution_id: str) -> Run:
        """The run of an execution, loaded from the store if it is not held."""
        run = self.get(execution_id)
        if run is not None:
            return run
        loaded = await self._store.load_execution(execution_id)
        if loaded is None:
            raise not_found("execution", execution_id)
        ex, tasks = loaded
        # Another call may have loaded it meanwhile.
        run = self.get(execution_id)
        if run is None:
            workflow = await self._parse(ex.definition, ex.workflow_name)
            run = self.get(execution_id)  # and again, while it was parsed
        if run is None:
            run = self.run_of(ex, workflow, tasks)
            if ex.state in EXECUTION_ENDED:
                self.forget(run)
            else:
                self.revive(run)
        return run

    async def task(self, task_id: str) -> tuple[Run, TaskRow]:
        """A task and the run it belongs to."""
        ex_id = self._task_index.get(task_id)
        if ex_id is None:
            task = await self._store.get_task(task_id)
            if task is None:
                raise not_found("task", task_id)
            ex_id = task.execution_id
        run = await self.load(ex_id)
        task = run.tasks.get(task_id)
        if task is None:
            raise not_found("task", task_id)
        return run, task

    async def list_tasks(
        self, execution_id: str, page_token: str, limit: int
    ) -> tuple[list[TaskRow], str]:
        """A page of an execution's tasks; copies of live rows where the engine holds them."""
        # The run as held before the read too: an ended run is forgotten once its last
        # change commits, which may happen while the store is read (the rows read may
        # then predate that change); its live rows are the newest either way.
        held = self.get(execution_id)
        rows, token = await self._store.list_tasks(execution_id, page_token, limit)
        run = self.get(execution_id) or held
        if run is not None:
            rows = [copy.copy(run.tasks.get(r.id, r)) for r in rows]
            if not token:  # the last page also shows tasks not yet committed
                seen = {r.id for r in rows}
                rows += [copy.copy(t) for t in run.tasks.values() if t.id not in seen][
                    : max(0, limit - len(rows))
                ]
        return rows, token
