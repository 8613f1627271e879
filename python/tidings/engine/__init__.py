"""The workflow engine: the language, the actions tasks run, and the runner that drives them.

- :mod:`.dsl` parses and checks definitions; :mod:`.expressions` evaluates what they compute;
  :mod:`.actions` holds what tasks run (``std.*``, ``std.http``).
- :mod:`.machine` is the state machine of one execution (:mod:`.execution`'s ``Run``): pure
  logic that returns the changes to commit; :mod:`.rollback` is the same for a rollback.
- :mod:`.runner`'s ``Engine`` drives it: commands, recovery and commits, with
  :mod:`.workflows` (definitions), :mod:`.runs` (executions in memory), :mod:`.calls`
  (action calls) and :mod:`.timers`; :mod:`.events` builds the events of the outbox.

Importing this package imports nothing heavy; import the submodules you need.
"""
