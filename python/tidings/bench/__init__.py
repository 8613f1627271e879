"""``tidings bench``: the throughput harness, a client of the API like the CLI.

It drives a server (its own with ``--local``: server, Kafka broker and webhook receiver
on free ports of 127.0.0.1) with a known workload, listens on every sink it asked the
server to feed, and counts each event it expected there: throughput, end-to-end latency
(HDR histograms), missing and duplicate events. ``workload`` says what runs and what it
must produce, ``services`` starts what ``--local`` needs, ``sinks`` hears the events,
``tally`` counts them, ``e2e`` drives a run, ``report`` prints and compares results,
``scenarios`` names the fixed workloads (``codec`` lives in ``codec``).
"""
