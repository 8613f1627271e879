"""Prometheus metrics.

The families (`families`), the hooks the hot paths call (`record`), and the HTTP
endpoint that serves them (`endpoint`). It sits below everything but the generated
protos and the errors, so that the store, the engine, the dispatcher and the API may
all record into it; it imports nothing of ours but `v1`.
"""
