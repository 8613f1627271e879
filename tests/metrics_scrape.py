"""Scraping a server's Prometheus endpoint in tests."""

from __future__ import annotations

import urllib.request

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

#: A sample's name and its labels, sorted.
Key = tuple[str, tuple[tuple[str, str], ...]]


def families(port: int) -> list[Metric]:
    """Every metric family the endpoint on 127.0.0.1:`port` serves."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return list(text_string_to_metric_families(text))


def samples(port: int) -> dict[Key, float]:
    """Every sample, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families(port)
        for s in family.samples
    }


def value(found: dict[Key, float], name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def total(found: dict[Key, float], name: str, **labels: str) -> float:
    """The sum of a name's samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and want <= set(ls))
