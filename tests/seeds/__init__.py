"""Seed-conformance validators, written from the seed documents alone.

One module per seed (``../shared/seeds/``): `mistral` (000, Kafka topics `service` and
`mistral`), `cloudevents` (001 names no payload: CloudEvents 1.0 itself), `thain` (002,
form callbacks), `tencent` (003, XML callback). Each validator takes a payload and returns
the `Violation`s it found (empty: conforms). `hook` runs them over every payload the
end-to-end tests receive; `known` lists the violations of today's code that issue 11
tracks.
"""

from seeds.cloudevents import validate_cloudevent
from seeds.common import Violation
from seeds.mistral import validate_mistral_event, validate_mistral_service
from seeds.tencent import validate_tencent, validate_tencent_http
from seeds.thain import (
    validate_thain_any,
    validate_thain_flow,
    validate_thain_http,
    validate_thain_job,
    validate_thain_modify,
)

__all__ = [
    "Violation",
    "validate_cloudevent",
    "validate_mistral_event",
    "validate_mistral_service",
    "validate_tencent",
    "validate_tencent_http",
    "validate_thain_any",
    "validate_thain_flow",
    "validate_thain_http",
    "validate_thain_job",
    "validate_thain_modify",
]
