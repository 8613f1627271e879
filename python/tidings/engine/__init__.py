"""The workflow engine: the language (:mod:`.dsl`, :mod:`.expressions`) and, later, the runner.

Importing this package imports nothing heavy; import the submodules you need.
"""
