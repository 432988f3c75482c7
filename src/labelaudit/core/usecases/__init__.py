"""Use cases: one module per user action that changes the project (architecture.md §1).

A use case owns the orchestration, the transactions and the audit log of its action; it calls
the engines (``core/scan``, ``core/audit``, ``core/dataset``, ``core/export``) with arrays and
writes through ``core/store``. The CLI and the app call use cases, the ``Project`` facade and the
read models in ``core/views``.
"""
