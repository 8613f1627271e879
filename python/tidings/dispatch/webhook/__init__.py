"""Webhook delivery, one module a job.

`sink` sends signed HTTP requests over a guarded connection pool; `pipeline` tails the
outbox for one listener (order per execution, hold-back, retries); `signing` and `retry`
are the Standard Webhooks signature and the retry schedule; `ping` is TestListener's.
"""
