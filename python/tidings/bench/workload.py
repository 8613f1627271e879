"""What a bench run asks of the server, and what it must therefore produce on each sink."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

#: Sink kinds: a Kafka listener, a webhook listener, a WatchEvents stream.
SINK_KINDS = ("kafka", "webhook", "stream")
#: Profiles whose payload names the execution in JSON (the webhook sink reads it there).
JSON_PROFILES = ("mistral", "cloudevents", "cloudevents_data")
SHAPES = ("chain", "fanout")
ACTIONS = ("noop", "http")


@dataclass(frozen=True)
class Sink:
    """One place events are delivered to: a transport, and the profile rendered there."""

    kind: str
    profile: str = "mistral"

    @property
    def name(self) -> str:
        """How results name it: ``webhook:mistral``; the stream has no profile."""
        return "stream" if self.kind == "stream" else f"{self.kind}:{self.profile}"

    @classmethod
    def parse(cls, text: str) -> Sink:
        """``kind`` or ``kind:profile``; ValueError says what is wrong."""
        kind, _, profile = text.strip().partition(":")
        if kind not in SINK_KINDS:
            raise ValueError(f"{text!r}: the kind is one of {', '.join(SINK_KINDS)}")
        if kind == "stream":
            if profile:
                raise ValueError(f"{text!r}: the stream carries events, not a profile")
            return cls(kind, "")
        profile = profile or "mistral"
        if profile not in JSON_PROFILES:
            raise ValueError(
                f"{text!r}: the harness reads the execution from JSON payloads: "
                f"a profile of {', '.join(JSON_PROFILES)}"
            )
        return cls(kind, profile)


@dataclass(frozen=True)
class Workload:
    """The workflow every execution runs, and how hard executions are started."""

    tasks: int = 10
    shape: str = "chain"
    action: str = "noop"
    atom_latency_ms: float = 0.0
    clients: int = 16
    #: Executions started per second across all clients (0: as fast as they can).
    rate: float = 0.0
    duration_s: float = 10.0
    sinks: tuple[Sink, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"--shape: one of {', '.join(SHAPES)}")
        if self.action not in ACTIONS:
            raise ValueError(f"--action: one of {', '.join(ACTIONS)}")
        if self.tasks < (3 if self.shape == "fanout" else 1):
            raise ValueError("--tasks: a chain needs 1 task, a fan-out 3 (fork, a branch, join)")

    @property
    def events_per_execution(self) -> int:
        """Every event one execution must produce.

        Started and succeeded, for it and for each task: synchronous actions report no
        RUNNING, and a join starts once.
        """
        return 2 + 2 * self.tasks

    def definition(self, name: str, atom_url: str) -> str:
        """The workflow as Mistral v2 YAML (JSON is YAML): a chain, or fork, branches, join."""
        names = [f"t{i}" for i in range(self.tasks)]
        tasks: dict[str, dict[str, object]] = {n: self._task(atom_url) for n in names}
        if self.shape == "chain":
            for here, after in itertools.pairwise(names):
                tasks[here]["on-success"] = [after]
        else:
            fork, *branches, join = names
            tasks[fork]["on-success"] = list(branches)
            for branch in branches:
                tasks[branch]["on-success"] = [join]
            tasks[join]["join"] = "all"
        return json.dumps({"version": "2.0", name: {"type": "direct", "tasks": tasks}})

    def _task(self, atom_url: str) -> dict[str, object]:
        if self.action == "noop":
            return {"action": "std.noop"}
        return {"action": "std.http", "input": {"url": atom_url, "method": "GET"}}
