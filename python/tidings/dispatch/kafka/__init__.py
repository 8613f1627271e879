"""Kafka delivery: the producer sink and the pipeline that tails the outbox into it."""
