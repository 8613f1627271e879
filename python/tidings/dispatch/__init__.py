"""Delivery: read committed events from the outbox, render them, hand them to sinks."""
