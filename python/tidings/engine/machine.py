"""The state machine of one execution, as pure logic that returns the changes to commit.

It schedules tasks, collects joins, applies outcomes, retries, publishes, follows
transitions and ends the execution (closing the tasks it cuts short); it also makes the
transitions of the commands pause, resume, re-run and skip. Every step mutates a
:class:`~.execution.Run` (its execution row and task rows) and records in a
:class:`~.execution.Step` the rows and events to commit (one
:class:`~tidings.store.Change`) and what the runner must do about it: action calls to
launch once the change has committed, waits and deadlines to arm, calls to stop, and
whether the execution ended. The machine never commits, arms a timer, starts a task or
does I/O; a clock is all it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidings.engine import dsl, execution, items
from tidings.engine.actions import (
    ActionOutcome,
    ActionRegistry,
    engine_error_result,
    timeout_outcome,
)
from tidings.engine.dsl.graph import sources
from tidings.engine.ending import Ending
from tidings.engine.events import EventFactory
from tidings.engine.execution import Run, Step, action_context, expression_context, new_task
from tidings.engine.expressions import ExpressionError, evaluate
from tidings.engine.inputs import prepare
from tidings.engine.transitions import fired, follow, publish, skipped_publish
from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.store import TaskRow
from tidings.v1 import event_pb2
from tidings.vocab import (
    ERROR,
    PAUSED,
    RUNNING,
    RUNNING_ASYNC,
    SKIPPED,
    SUCCESS,
    WAITING,
)

__all__ = ["Machine"]

ET = event_pb2.EventType
#: The ``run_after`` of a task whose ``pause-before`` has paused the execution: on resume
#: it goes on (to its wait-before, then its call) rather than pausing again.
_PAUSED_BEFORE = -1.0


class Machine(Ending):
    """The transitions of executions and their tasks, as pure functions of a run."""

    def __init__(
        self, actions: ActionRegistry, events: EventFactory, clock: Callable[[], float]
    ) -> None:
        self.actions = actions
        self.events = events
        self.clock = clock
        # Workflow id -> (the workflow, its inbound map). The entry keeps the workflow
        # alive: an id is only unique among live objects, and a freed workflow's id may be
        # reused by another one, which must not get its map.
        self._inbound: dict[int, tuple[dsl.Workflow, dict[str, frozenset[str]]]] = {}

    def inbound(self, wf: dsl.Workflow) -> dict[str, frozenset[str]]:
        """For each task, the tasks that have a transition to it (cached per workflow)."""
        cached = self._inbound.get(id(wf))
        if cached is not None and cached[0] is wf:
            return cached[1]
        found = {name: frozenset(s) for name, s in sources(wf.tasks).items()}
        if len(self._inbound) > 4096:
            self._inbound.clear()
        self._inbound[id(wf)] = (wf, found)
        return found

    # ------------------------------------------------------------------ scheduling

    def start(self, run: Run, step: Step) -> None:
        """A new execution: announce it and schedule its start tasks."""
        now = self.clock()
        step.change.add_event(self.events.execution(run.row, ET.EVENT_TYPE_EXECUTION_STARTED, now))
        if run.workflow.vars:
            # As in Mistral: evaluated once, over the input (and env), into the context.
            try:
                values = evaluate(run.workflow.vars, expression_context(run, None))
            except ExpressionError as exc:
                self.end(run, ERROR, f"vars: {exc}", step)
                return
            run.row.context = {**run.row.context, **values}
        for name in run.workflow.start_tasks:
            self.schedule(run, name, None, step)
        self.check_done(run, step)

    def _new_task(self, run: Run, name: str, trigger: dict[str, str] | None, step: Step) -> TaskRow:
        task = new_task(run, name, trigger, self.clock())
        step.created.append(task)
        return task

    def schedule(self, run: Run, name: str, trigger: dict[str, str] | None, step: Step) -> None:
        """A transition (or the start) reaches task `name`: a new instance, or a join's.

        Nothing once the execution has ended (an earlier task of the same step failed it).
        While it is paused the transition is held, as Mistral holds it, until it resumes.
        """
        if run.row.state == PAUSED:
            run.row.backlog = [*run.row.backlog, {"task": name, "trigger": trigger}]
            return
        if run.row.state != RUNNING:
            return
        spec = run.workflow.tasks[name]
        if spec.join is not None and trigger is not None:
            # A join runs once (the language refuses joins in loops): an arrival after it
            # has started is only recorded.
            started = next(
                (t for t in run.tasks.values() if t.name == name and t.input is not None),
                None,
            )
            if started is not None:
                started.arrivals = [*started.arrivals, trigger]
                step.change.put_task(started)
                return
            # One waiting instance collects the arrivals of a join.
            waiting = next(
                (t for t in run.tasks.values() if t.name == name and t.state == WAITING
                 and not t.pending and t.attempt == 1 and t.input is None),
                None,
            )  # fmt: skip
            if waiting is None:
                waiting = self._new_task(run, name, trigger, step)
            else:
                waiting.arrivals = [*waiting.arrivals, trigger]
                waiting.triggered_by = list(waiting.arrivals)
            step.change.put_task(waiting)
            if self._join_satisfied(run, waiting):
                self._activate(run, waiting, step)
            return
        task = self._new_task(run, name, trigger, step)
        step.change.put_task(task)
        self._activate(run, task, step)

    def _ready(self, run: Run, task: TaskRow) -> bool:
        """A waiting task that may start (not a join still waiting for arrivals)."""
        if run.workflow.tasks[task.name].join is None or task.input is not None:
            return True
        return task.attempt > 1 or self._join_satisfied(run, task)

    def resume_waiting(self, run: Run, step: Step) -> None:
        """Carry on with the waiting tasks of a running execution (resume, recovery)."""
        now = self.clock()
        for t in list(run.tasks.values()):
            if run.row.state != RUNNING:
                break  # a task ended the execution
            if t.state != WAITING:
                continue
            if t.run_after > now:
                step.wakes.append((t, t.run_after - now))
            elif t.pending is not None:
                p = t.pending
                self.finish(run, t, str(p["state"]), p.get("result"),
                            str(p.get("error") or ""), step)  # fmt: skip
            elif self._ready(run, t):
                self._activate(run, t, step)
        self.check_done(run, step)

    def wake(self, run: Run, task: TaskRow, step: Step) -> None:
        """A waiting task's wait is over: finish it (wait-after) or begin it."""
        if task.pending is not None:
            p = task.pending
            self.finish(run, task, str(p["state"]), p.get("result"), str(p.get("error") or ""),
                        step)  # fmt: skip
        else:
            self.begin(run, task, step)
            self.check_done(run, step)

    def _join_satisfied(self, run: Run, task: TaskRow) -> bool:
        spec = run.workflow.tasks[task.name]
        arrived = {a["taskName"] for a in task.arrivals if "taskName" in a}
        if spec.join == "all":
            return arrived >= self.inbound(run.workflow)[task.name]
        assert isinstance(spec.join, int)
        return len(arrived) >= spec.join

    def _activate(self, run: Run, task: TaskRow, step: Step) -> None:
        """Start a waiting task now, or arm its wait-before; nothing while paused."""
        if run.row.state != RUNNING:
            return
        spec = run.workflow.tasks[task.name]
        if task.attempt == 1 and task.run_after <= 0.0 and task.input is None:
            if task.run_after == 0.0 and spec.pause_before is not False:
                try:
                    hold = bool(evaluate(spec.pause_before, expression_context(run, task)))
                except ExpressionError as exc:
                    self.fail(run, task, f"pause-before: {exc}", step)
                    return
                if hold:  # as Mistral: the execution pauses, the task waits for resume
                    task.run_after = _PAUSED_BEFORE
                    step.change.put_task(task)
                    self.pause(run, step)
                    return
            wait = self._number(run, task, spec.wait_before, "wait-before", step)
            if wait is None:
                return
            if wait > 0:
                task.run_after = self.clock() + wait
                step.change.put_task(task)
                step.wakes.append((task, wait))
                return
        self.begin(run, task, step)

    def _number(self, run: Run, task: TaskRow, value: Any, what: str, step: Step) -> float | None:
        """A numeric task setting (maybe an expression); None if it failed the task."""
        if value is None:
            return 0.0
        try:
            number = evaluate(value, expression_context(run, task))
            return max(0.0, float(number))
        except (ExpressionError, TypeError, ValueError) as exc:
            self.fail(run, task, f"{what}: {exc}", step)
            return None

    def begin(self, run: Run, task: TaskRow, step: Step) -> None:
        """Evaluate the task's input and hand it to its action (after the commit)."""
        now = self.clock()
        task.run_after = 0.0
        try:
            prepared = prepare(run, task, self.actions)
        except Exception as exc:  # expression errors, bad params: the engine's 599
            self.fail(run, task, str(exc), step)
            return
        params, request, begun = prepared.params, prepared.request, prepared.begun
        task.input = params
        task.state = RUNNING
        task.update_time = now
        task.items = None if begun is None else begun.progress
        step.change.add_event(
            self.events.task(run.row, task, ET.EVENT_TYPE_TASK_STARTED, now, input=request)
        )
        step.change.put_task(task)
        if begun is None:
            step.launches.append(task)
        elif not begun.inputs:
            self.outcome(run, task, ActionOutcome.success([]), step)  # no items: done
        else:
            step.item_launches.extend((task, task.attempt, i) for i in items.running(task))

    def item_outcome(
        self, run: Run, task: TaskRow, index: int, outcome: ActionOutcome, step: Step
    ) -> None:
        """One item of a with-items task has its outcome: call the next, or end the task."""
        done, called = items.record(task, index, outcome)
        task.update_time = self.clock()
        step.change.put_task(task)
        step.item_launches.extend((task, task.attempt, i) for i in called)
        if done is not None:
            self.outcome(run, task, done, step)

    def fail(self, run: Run, task: TaskRow, message: str, step: Step) -> None:
        """The engine cannot go on with the task: it fails with seed 000's 599 naming why.

        A task about to begin (waiting, with no outcome recorded) gets its TASK_STARTED
        first, so that every task that ends has both events.
        """
        if task.state == WAITING and task.pending is None:
            task.input = None
            task.state = RUNNING
            task.run_after = 0.0
            step.change.add_event(
                self.events.task(run.row, task, ET.EVENT_TYPE_TASK_STARTED, self.clock())
            )
        self.finish(run, task, ERROR, engine_error_result(message), message, step, forced=True)

    def start_failed(self, run: Run, message: str, step: Step) -> None:
        """A new execution could not start: announce it and end it at once, failed."""
        now = self.clock()
        step.change.add_event(self.events.execution(run.row, ET.EVENT_TYPE_EXECUTION_STARTED, now))
        self.end(run, ERROR, message, step)

    # ------------------------------------------------------------------ outcomes

    def outcome(self, run: Run, task: TaskRow, outcome: ActionOutcome, step: Step) -> None:
        """Apply an action's outcome: async acceptance, retry, wait-after or finish."""
        spec = run.workflow.tasks[task.name]
        now = self.clock()
        if outcome.state == "running":
            task.state = RUNNING_ASYNC
            task.update_time = now
            step.change.add_event(
                self.events.task(
                    run.row, task, ET.EVENT_TYPE_TASK_RUNNING, now, output=outcome.result
                )
            )
            step.change.put_task(task)
            step.deadlines.append(task)
            return
        if outcome.state == "cancelled":  # no retry: a client cancelled it on purpose
            self.cancelled(run, task, outcome.error or "cancelled", outcome.result, step)
            return
        success = outcome.state == "success"
        task.result = outcome.result
        retry = spec.retry
        if retry is not None:
            ctx = expression_context(run, task)
            try:
                count = int(evaluate(retry.count, ctx))
                if success:
                    again = retry.continue_on is not None and bool(evaluate(retry.continue_on, ctx))
                else:
                    again = retry.break_on is None or not bool(evaluate(retry.break_on, ctx))
                delay = float(evaluate(retry.delay, ctx)) if retry.delay is not None else 0.0
                again = again and task.attempt <= count
            except (ExpressionError, TypeError, ValueError) as exc:
                self.fail(run, task, f"retry: {exc}", step)
                return
            if again:
                self.retry(run, task, delay, step)
                return
        state = SUCCESS if success else ERROR
        error = "" if success else (outcome.error or "action failed")
        wait_after = self._number(run, task, spec.wait_after, "wait-after", step)
        if wait_after is None:
            return
        if wait_after > 0:
            task.state = WAITING  # its call is over; only the wait is left
            task.pending = {"state": state, "result": outcome.result, "error": error}
            task.run_after = now + wait_after
            task.update_time = now
            step.change.put_task(task)
            step.wakes.append((task, wait_after))
            return
        self.finish(run, task, state, outcome.result, error, step)

    def async_expired(self, run: Run, task: TaskRow, step: Step) -> None:
        """An asynchronous task was not completed in time: it fails (598, a timeout)."""
        message = "the asynchronous atom did not complete before the task's timeout"
        params = task.input if isinstance(task.input, dict) else {}
        action = self.actions.get(task.action)
        outcome = timeout_outcome(action, params, action_context(run, task), message)
        task.state = RUNNING  # the outcome path expects a task whose call just returned
        self.outcome(run, task, outcome, step)

    def retry(self, run: Run, task: TaskRow, delay: float, step: Step) -> None:
        """Run the task again (its next attempt), now or after `delay` seconds."""
        now = self.clock()
        task.run = run.row.run
        task.attempt += 1
        task.state = WAITING
        task.end_time = None
        task.update_time = now
        task.error_message = ""
        task.has_next = task.unhandled = False
        step.change.add_event(
            self.events.task(run.row, task, ET.EVENT_TYPE_TASK_RETRIED, now, output=task.result)
        )
        if delay > 0:
            task.run_after = now + delay
            step.change.put_task(task)
            step.wakes.append((task, delay))
        else:
            task.run_after = 0.0
            step.change.put_task(task)
            self.begin(run, task, step)

    def finish(self, run: Run, task: TaskRow, state: str, result: Any, error: str, step: Step,
               *, forced: bool = False) -> None:  # fmt: skip
        """A task ended: publish, record it, follow its transitions, maybe end the run.

        ``forced``: the engine failed the task (an expression, a parameter), which ends
        the execution at once unless ``on-error`` handles it.
        """
        now = self.clock()
        task.result = result
        # publish expressions may look at task() itself: its state and state_info
        task.state, task.error_message = state, error
        published = publish(run, task, state) if state in (SUCCESS, ERROR) else ({}, {})
        if isinstance(published, str):
            state, error, published = ERROR, published, ({}, {})
        task.state = state
        task.error_message = error
        task.pending = None
        task.run_after = 0.0
        task.end_time = task.update_time = now
        context = run.row.context
        # The task keeps its branch variables; global ones join only the context.
        branch, global_ = published
        task.published = branch
        if branch or global_:
            run.row.context = {**context, **global_, **branch}
        targets = fired(run, task, state == SUCCESS)
        if isinstance(targets, str):
            # A condition failed: the task fails with it (publishing nothing), and the
            # execution with the task; its end event says so.
            state = task.state = ERROR
            error = task.error_message = targets
            run.row.context = context
            task.published = {}
        if not execution.keeps_result(run, task):
            task.result = None  # keep-result: false; its end event still carries it
        success = state == SUCCESS
        etype = ET.EVENT_TYPE_TASK_SUCCEEDED if success else ET.EVENT_TYPE_TASK_FAILED
        step.change.add_event(
            self.events.task(run.row, task, etype, now, output=result, error=error, status=state)
        )
        follow(self, run, task, success, None if isinstance(targets, str) else targets, step,
               forced=forced)  # fmt: skip
        step.change.put_task(task)  # after follow, which marks it (has_next, unhandled)
        self.check_done(run, step)

    # ------------------------------------------------------------------ commands

    def pause(self, run: Run, step: Step, msg: str = "") -> None:
        """Pause: running calls finish, nothing new starts until resumed.

        ``msg`` (the ``pause`` engine command's) is kept as the execution's state info.
        """
        now = self.clock()
        run.row.state = PAUSED
        run.row.error_message = msg
        run.row.update_time = now
        step.paused = True
        step.change.add_event(self.events.execution(run.row, ET.EVENT_TYPE_EXECUTION_PAUSED, now))
        step.change.put_execution(run.row)

    def reopen(self, run: Run, step: Step) -> None:
        """Run again after a pause (EXECUTION_RESUMED); the transitions held start."""
        self._running_again(run)
        step.change.add_event(
            self.events.execution(
                run.row, ET.EVENT_TYPE_EXECUTION_RESUMED, run.row.update_time, status=RUNNING
            )
        )
        step.resumed = True
        held, run.row.backlog = run.row.backlog, []
        for entry in held:
            trigger = entry.get("trigger")
            self.schedule(run, str(entry["task"]), trigger if isinstance(trigger, dict) else None,
                          step)  # fmt: skip

    def rerun(self, run: Run, step: Step) -> None:
        """A failed execution runs again (RetryTask, SkipTask): its next run begins.

        EXECUTION_RERUN opens the run; the run's own end event closes it and lists the
        tasks that ran in it.
        """
        self._running_again(run)
        run.row.run += 1
        step.change.add_event(
            self.events.execution(run.row, ET.EVENT_TYPE_EXECUTION_RERUN, run.row.update_time)
        )

    def _running_again(self, run: Run) -> None:
        run.row.state = RUNNING
        run.row.end_time = None
        run.row.output = None
        run.row.error_message = ""
        run.row.update_time = self.clock()
        run.failed_task = None

    #: What a skipped task publishes (refused with InvalidArgumentError if it fails).
    publish_skipped = staticmethod(skipped_publish)

    def skip(
        self, run: Run, task: TaskRow, result: Any, published: dict[str, Any], step: Step
    ) -> None:
        """The task passes with `result` (publishing `published`); the flow goes on."""
        step.stopped.append(task)
        now = self.clock()
        task.run = run.row.run
        task.state = SKIPPED
        task.result = result
        task.published = published
        task.error_message = ""
        task.end_time = task.update_time = now
        step.change.add_event(
            self.events.task(run.row, task, ET.EVENT_TYPE_TASK_SKIPPED, now, output=result)
        )
        step.change.put_task(task)
        run.row.context = {**run.row.context, **published}
        targets = fired(run, task, success=True)
        if isinstance(targets, str):  # the command is refused whole (the step is undone)
            raise InvalidArgumentError(
                f"a transition of task {task.name!r} fails on the given result: {targets}",
                [FieldViolation("result", targets)],
            )
        follow(self, run, task, True, targets, step)
        step.change.put_task(task)
        self.check_done(run, step)
