"""Listeners: who hears which events, in which shape, and the rules a listener follows.

A listener names a filter, a payload profile and a transport (seed 001). Global
listeners, the ``callback_url`` / ``modify_callback_url`` of a workflow and its tasks' job
``callback-url`` (seed 002), and the notify targets of an execution are all listeners that
differ only in scope. This
package holds their rules; `tidings.api.listeners` only translates protobuf, and the
dispatcher delivers what the stored rows say.

- `spec`: what a caller asks for, validation with field paths, the stored row;
- `secrets`: Standard Webhooks signing secrets, rotation with a grace period;
- `scoped`: the listeners the engine makes with workflows and executions;
- `registry`: create, read, change, delete, disable (one lock; the dispatcher hears of
  each change from the store as it commits).
"""

from tidings.listeners.registry import ListenerRegistry
from tidings.listeners.scoped import (
    CALLBACK_TYPES,
    MODIFY_CALLBACK_TYPES,
    notify_listeners,
    workflow_listeners,
)
from tidings.listeners.secrets import (
    SECRET_PREFIX,
    decode_secret,
    new_secret,
    rotate,
    signing_keys,
)
from tidings.listeners.spec import (
    DEFAULT_TIMEOUT_S,
    KafkaSpec,
    ListenerSpec,
    RetrySpec,
    WebhookSpec,
    build_row,
    check_url,
    check_webhook_urls,
    url_host,
    validate,
)

__all__ = [
    "CALLBACK_TYPES",
    "DEFAULT_TIMEOUT_S",
    "MODIFY_CALLBACK_TYPES",
    "SECRET_PREFIX",
    "KafkaSpec",
    "ListenerRegistry",
    "ListenerSpec",
    "RetrySpec",
    "WebhookSpec",
    "build_row",
    "check_url",
    "check_webhook_urls",
    "decode_secret",
    "new_secret",
    "notify_listeners",
    "rotate",
    "signing_keys",
    "url_host",
    "validate",
    "workflow_listeners",
]
