"""Webhook delivery, one module a job.

`sink` sends signed HTTP requests over a guarded connection pool; `delivery` delivers
one listener's events as the outbox reader offers them (order per execution, hold-back,
retries, fair slots); `render` turns events into bodies, a batch per profile for every
listener at once; `signing` and `retry` are the Standard Webhooks signature and the
retry schedule; `ping` is TestListener's.
"""
