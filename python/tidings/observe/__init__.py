"""Observing a running server: traces (`tracing`, `rpc`) and structured logs (`logs`).

Imports nothing of ours, so that every step of an event's flow may call its hooks.
"""
