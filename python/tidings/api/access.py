"""Which scope each RPC needs: the one table the token check (`api.auth`) reads.

Scopes nest: ``admin`` may do what ``write`` may, ``write`` what ``read`` may.

- ``read``: every Get, List and Watch, and server reflection (the schema is no secret,
  but an open port answers nothing but health).
- ``write``: what a service that runs workflows does: workflows, environments,
  executions and their tasks, with the listeners those make (a workflow's callback URLs,
  an execution's notify targets), whose signing secrets the creating RPC returns.
- ``admin``: the service-wide listener registry (ListenerService's changes). A global
  listener hears every event of every execution and sends it wherever it points, and
  changing or deleting one changes what others receive: that is the operator's job, not
  a workflow client's.

Listener signing secrets travel only in the responses of RPCs that need ``write`` or
``admin`` (CreateWorkflow, UpdateWorkflow, StartExecution, CreateListener,
RotateSecret); ``tests/test_api_access.py`` checks it from the protos, and that every RPC
served is in this table. An RPC missing from it is refused to every token.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Scope(enum.IntEnum):
    """What a token may do; a larger value includes the smaller ones."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The name used in configuration and messages (``write``)."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``read``, ``write`` or ``admin``; ValueError otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"scope must be read, write or admin, got {text!r}") from None


R, W, A = Scope.READ, Scope.WRITE, Scope.ADMIN

#: Services anyone may call, with or without a token: load balancers and orchestrators
#: probe health without credentials.
OPEN_SERVICES = frozenset({"grpc.health.v1.Health"})

_BY_SERVICE: Mapping[str, Mapping[str, Scope]] = {
    "tidings.v1.WorkflowService": {
        "CreateWorkflow": W,
        "GetWorkflow": R,
        "ListWorkflows": R,
        "UpdateWorkflow": W,
        "DeleteWorkflow": W,
    },
    "tidings.v1.ExecutionService": {
        "StartExecution": W,
        "GetExecution": R,
        "ListExecutions": R,
        "ListTasks": R,
        "PauseExecution": W,
        "ResumeExecution": W,
        "CancelExecution": W,
        "RollbackExecution": W,
        "RetryTask": W,
        "SkipTask": W,
        "CompleteTask": W,
    },
    "tidings.v1.EnvironmentService": {
        "CreateEnvironment": W,
        "GetEnvironment": R,
        "ListEnvironments": R,
        "UpdateEnvironment": W,
        "DeleteEnvironment": W,
    },
    "tidings.v1.ListenerService": {
        "CreateListener": A,
        "GetListener": R,
        "ListListeners": R,
        "UpdateListener": A,
        "DeleteListener": A,
        "RotateSecret": A,
        "TestListener": A,
        "ListDeliveries": R,
        "RedeliverEvents": A,
    },
    "tidings.v1.EventService": {
        "WatchEvents": R,
    },
    "grpc.reflection.v1alpha.ServerReflection": {"ServerReflectionInfo": R},
    "grpc.reflection.v1.ServerReflection": {"ServerReflectionInfo": R},
}

#: The scope each RPC needs, by its gRPC method path (``/tidings.v1.X/Y``).
REQUIRED: Mapping[str, Scope] = {
    f"/{service}/{method}": scope
    for service, methods in _BY_SERVICE.items()
    for method, scope in methods.items()
}


def is_open(method: str) -> bool:
    """True for the RPCs that need no token (health)."""
    return method.split("/")[1] in OPEN_SERVICES if method.count("/") == 2 else False
