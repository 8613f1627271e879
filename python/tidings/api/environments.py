"""tidings.v1.EnvironmentService: named environments, kept in the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tidings import values
from tidings.api import convert
from tidings.api.errors import handles_errors
from tidings.errors import AlreadyExistsError, FieldViolation, InvalidArgumentError, not_found
from tidings.store import EnvironmentRow, Store
from tidings.store.columns import unstorable
from tidings.v1 import environment_pb2 as EPB
from tidings.v1 import environment_pb2_grpc

Context = Any  # grpc.aio.ServicerContext

#: Longest environment name, in characters.
MAX_NAME = 255


def environment(row: EnvironmentRow) -> EPB.Environment:
    """An environment as its message."""
    return EPB.Environment(
        name=row.name,
        description=row.description,
        variables=values.to_struct(row.variables),
        create_time=convert.ts(row.create_time),
        update_time=convert.ts(row.update_time),
    )


def _name(name: str) -> str:
    name = convert.required(name, "name")
    if len(name) > MAX_NAME or name != name.strip():
        reason = f"must be at most {MAX_NAME} characters, without surrounding spaces"
        raise InvalidArgumentError(f"name {reason}", [FieldViolation("name", reason)])
    return name


def variables(
    request: EPB.CreateEnvironmentRequest | EPB.UpdateEnvironmentRequest,
) -> dict[str, Any]:
    """A request's variables; INVALID_ARGUMENT naming the place the store cannot hold."""
    field = "variables"
    value = convert.struct_field(request, field) or {}
    problem = unstorable(value)
    if problem is not None:
        where = f"{field}{problem.path}"
        raise InvalidArgumentError(
            f"{where}: {problem.reason}", [FieldViolation(where, problem.reason)]
        )
    return value


async def environment_variables(store: Store, name: str) -> dict[str, Any]:
    """The variables of the environment ``name`` (StartExecution.environment)."""
    row = await store.get_environment(name)
    if row is None:
        raise not_found("environment", name)
    return dict(row.variables)


class EnvironmentService(environment_pb2_grpc.EnvironmentServiceServicer):
    """Create, read, update and delete named environments, in the store directly."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    @handles_errors
    async def CreateEnvironment(
        self, request: EPB.CreateEnvironmentRequest, context: Context
    ) -> EPB.CreateEnvironmentResponse:
        """Add an environment; ALREADY_EXISTS if its name is taken."""
        now = self.clock()
        row = EnvironmentRow(_name(request.name), request.description, variables(request), now, now)
        if not await self.store.create_environment(row):
            raise AlreadyExistsError(
                f"environment {row.name!r} already exists",
                reason="ENVIRONMENT_ALREADY_EXISTS",
                metadata={"environment": row.name},
            )
        return EPB.CreateEnvironmentResponse(environment=environment(row))

    @handles_errors
    async def GetEnvironment(
        self, request: EPB.GetEnvironmentRequest, context: Context
    ) -> EPB.GetEnvironmentResponse:
        """An environment by name."""
        row = await self.store.get_environment(convert.required(request.name, "name"))
        if row is None:
            raise not_found("environment", request.name)
        return EPB.GetEnvironmentResponse(environment=environment(row))

    @handles_errors
    async def ListEnvironments(
        self, request: EPB.ListEnvironmentsRequest, context: Context
    ) -> EPB.ListEnvironmentsResponse:
        """A page of environments, in creation order."""
        limit = convert.page_size(request.page_size)
        rows, token = await self.store.list_environments(convert.page_token(request), limit)
        return EPB.ListEnvironmentsResponse(
            environments=[environment(r) for r in rows],
            next_page_token=convert.next_page_token(request, token),
        )

    @handles_errors
    async def UpdateEnvironment(
        self, request: EPB.UpdateEnvironmentRequest, context: Context
    ) -> EPB.UpdateEnvironmentResponse:
        """Change an environment's description or variables, as the mask says."""
        name = convert.required(request.name, "name")
        paths = convert.update_paths(request, ("description", "variables"))
        given = variables(request) if "variables" in paths else None
        old = await self.store.get_environment(name)
        if old is None:
            raise not_found("environment", name)
        row = EnvironmentRow(
            name,
            request.description if "description" in paths else old.description,
            old.variables if given is None else given,
            old.create_time,
            self.clock(),
        )
        if not await self.store.update_environment(row):
            raise not_found("environment", name)
        return EPB.UpdateEnvironmentResponse(environment=environment(row))

    @handles_errors
    async def DeleteEnvironment(
        self, request: EPB.DeleteEnvironmentRequest, context: Context
    ) -> EPB.DeleteEnvironmentResponse:
        """Delete an environment; executions started with it keep their copy."""
        name = convert.required(request.name, "name")
        if not await self.store.delete_environment(name):
            raise not_found("environment", name)
        return EPB.DeleteEnvironmentResponse()
