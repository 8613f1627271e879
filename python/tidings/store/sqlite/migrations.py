"""The SQLite schema, as numbered migrations applied in order (PRAGMA user_version).

A migration once released never changes: databases in the field have run it. A change
of schema is a new migration at the end.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from tidings.errors import StoreError

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: workflows, executions, tasks and the outbox.
    """
    CREATE TABLE workflows (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        definition TEXT NOT NULL,
        description TEXT NOT NULL,
        input_names TEXT NOT NULL,
        callback_url TEXT NOT NULL,
        modify_callback_url TEXT NOT NULL,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL
    );
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        workflow_name TEXT NOT NULL,
        definition TEXT NOT NULL,
        state TEXT NOT NULL,
        input TEXT NOT NULL,
        output TEXT NOT NULL,
        context TEXT NOT NULL,
        error_message TEXT NOT NULL,
        request_id TEXT NOT NULL,
        notify TEXT NOT NULL,
        timeout_s REAL NOT NULL,
        next_seq INTEGER NOT NULL,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL,
        end_time REAL
    );
    CREATE UNIQUE INDEX executions_request_id ON executions(request_id) WHERE request_id != '';
    CREATE INDEX executions_workflow ON executions(workflow_id);
    CREATE INDEX executions_state ON executions(state);
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        execution_id TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        action TEXT NOT NULL,
        atom_id TEXT NOT NULL,
        input TEXT NOT NULL,
        result TEXT NOT NULL,
        error_message TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        triggered_by TEXT NOT NULL,
        arrivals TEXT NOT NULL,
        run_after REAL NOT NULL,
        pending TEXT,
        rollback_state TEXT NOT NULL,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL,
        end_time REAL
    );
    CREATE INDEX tasks_execution ON tasks(execution_id);
    CREATE TABLE events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        execution_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        type INTEGER NOT NULL,
        workflow_id TEXT NOT NULL,
        workflow_name TEXT NOT NULL,
        time REAL NOT NULL,
        body BLOB NOT NULL,
        -- When the transaction that wrote the event committed (latency metrics).
        commit_time REAL NOT NULL
    );
    CREATE UNIQUE INDEX events_execution_sequence ON events(execution_id, sequence);
    """,
    # 2: listeners (who hears what). JSON columns: filter {workflows, categories, types};
    # config per transport (webhook: url, method, headers, timeout_s, cloudevents_mode;
    # kafka: topic, cloudevents_mode); retry {schedule_s, jitter, disable_after_s}, null
    # meaning the default; secrets [{secret, expire_time}] newest first. No CHECK on
    # transport: a new transport must not need a table rebuild.
    """
    CREATE TABLE listeners (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scope TEXT NOT NULL,
        scope_id TEXT NOT NULL,
        filter TEXT NOT NULL,
        profile TEXT NOT NULL,
        transport TEXT NOT NULL,
        config TEXT NOT NULL,
        retry TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        disabled_reason TEXT NOT NULL,
        secrets TEXT NOT NULL,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL
    );
    CREATE INDEX listeners_scope ON listeners(scope, scope_id);
    """,
    # 3: how far each delivery target has got in the outbox. (IF NOT EXISTS: early
    # development databases had it in migration 1.)
    """
    CREATE TABLE IF NOT EXISTS dispatch_cursors (
        target_id TEXT PRIMARY KEY,
        position INTEGER NOT NULL
    );
    """,
    # 4: deliveries to webhook listeners (one row per event and listener) and their
    # attempts; Kafka targets keep only a cursor.
    """
    CREATE TABLE deliveries (
        listener_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        type INTEGER NOT NULL,
        position INTEGER NOT NULL,
        event_time REAL NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_time REAL,
        last_error TEXT NOT NULL,
        update_time REAL NOT NULL,
        PRIMARY KEY (listener_id, event_id)
    );
    CREATE INDEX deliveries_open ON deliveries(listener_id, state, execution_id, sequence);
    CREATE INDEX deliveries_event ON deliveries(event_id);
    CREATE TABLE delivery_attempts (
        listener_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        time REAL NOT NULL,
        http_status INTEGER NOT NULL,
        error TEXT NOT NULL,
        latency REAL NOT NULL,
        snippet TEXT NOT NULL
    );
    CREATE INDEX delivery_attempts_event ON delivery_attempts(listener_id, event_id);
    """,
    # 5: the unsettled deliveries of every listener, which the one outbox reader resumes
    # from after a restart (few rows: most deliveries are DELIVERED).
    """
    CREATE INDEX deliveries_unsettled ON deliveries(listener_id, execution_id, sequence)
        WHERE state IN ('PENDING', 'FAILED');
    """,
    # 6: runs. An ended execution re-run (RetryTask / SkipTask) begins its next run; each
    # task remembers the run it last ran in, so that a run's end lists its own tasks.
    """
    ALTER TABLE executions ADD COLUMN run INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE tasks ADD COLUMN run INTEGER NOT NULL DEFAULT 1;
    -- A workflow's seed-002 callback_url hears a re-run too (flow code 4 again).
    UPDATE listeners SET filter = json_insert(filter, '$.types[#]', 'EXECUTION_RERUN')
        WHERE scope = 'WORKFLOW' AND id LIKE '%.callback_url'
        AND NOT EXISTS (SELECT 1 FROM json_each(listeners.filter, '$.types')
                        WHERE value = 'EXECUTION_RERUN');
    """,
    # 7: an execution's custom headers, given at start (tencent CosHeaders): a JSON list
    # of [key, value] pairs.
    """
    ALTER TABLE executions ADD COLUMN headers TEXT NOT NULL DEFAULT '[]';
    """,
    # 8: an execution's environment (Mistral's `env`), given at StartExecution, and the
    # named environments it may be copied from.
    """
    ALTER TABLE executions ADD COLUMN env TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE environments (
        name        TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        variables   TEXT NOT NULL,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL
    );
    """,
    # 9: what each task published (its `publish`, evaluated), as ListTasks reports it.
    """
    ALTER TABLE tasks ADD COLUMN published TEXT NOT NULL DEFAULT '{}';
    """,
    # 10: sub-workflows: the execution and task that started an execution, and the top
    # of its tree ("" for an execution started by a client).
    """
    ALTER TABLE executions ADD COLUMN parent_execution_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE executions ADD COLUMN parent_task_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE executions ADD COLUMN root_execution_id TEXT NOT NULL DEFAULT '';
    CREATE INDEX executions_parent ON executions(parent_execution_id)
        WHERE parent_execution_id != '';
    """,
    # 11: a with-items task's progress (TaskRow.items): each item's call and outcome, so
    # that a restart re-runs none that finished.
    """
    ALTER TABLE tasks ADD COLUMN items TEXT;
    """,
    # 12: the flow as Mistral keeps it: an execution's transitions held while it is paused
    # (started on resume); per task, whether a transition led on from it (the default
    # output is the variables of the tasks none led on from) and whether its error is
    # still unhandled (the execution fails once nothing else runs).
    """
    ALTER TABLE executions ADD COLUMN backlog TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE tasks ADD COLUMN has_next INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN unhandled INTEGER NOT NULL DEFAULT 0;
    """,
    # 13: retention. A listener's own retention of its delivery records (seconds; NULL:
    # the server's), and the newest outbox position retention has removed (WatchEvents
    # refuses a cursor before it: the events after that cursor are no longer complete).
    """
    ALTER TABLE listeners ADD COLUMN retention_s REAL;
    CREATE TABLE retention (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        removed_upto INTEGER NOT NULL
    );
    INSERT INTO retention (id, removed_upto) VALUES (1, 0);
    """,
    # 14: the target task of a reverse workflow's execution (Mistral's `task_name`).
    """
    ALTER TABLE executions ADD COLUMN task_name TEXT NOT NULL DEFAULT '';
    """,
    # 15: execution retention walks ended top-level executions oldest first, and removes
    # each with its tree of sub-workflows.
    """
    CREATE INDEX executions_ended ON executions(end_time)
        WHERE root_execution_id = '' AND end_time IS NOT NULL;
    CREATE INDEX executions_root ON executions(root_execution_id)
        WHERE root_execution_id != '';
    """,
    # 16: the request_id of CreateWorkflow and CreateListener (AIP-155): what each
    # request asked (a digest) and what it made, kept REQUEST_ID_KEEP_S.
    """
    CREATE TABLE create_requests (
        kind TEXT NOT NULL,
        request_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        made TEXT NOT NULL,
        create_time REAL NOT NULL,
        PRIMARY KEY (kind, request_id)
    );
    CREATE INDEX create_requests_time ON create_requests(create_time);
    """,
    # 17: the trace context an execution started in (tracing), which its events carry
    # after a restart too.
    """
    ALTER TABLE executions ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
    ALTER TABLE executions ADD COLUMN tracestate TEXT NOT NULL DEFAULT '';
    """,
)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the database up to the newest schema; StoreError if it is newer than ours."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path} has schema version {version}, newer than this tidings "
            f"({len(MIGRATIONS)}); upgrade tidings"
        )
    for number in range(version + 1, len(MIGRATIONS) + 1):
        conn.execute("BEGIN IMMEDIATE")
        # Statement by statement: executescript() would commit on its own.
        for statement in MIGRATIONS[number - 1].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
        log.info("store: migrated %s to schema version %d", path, number)
