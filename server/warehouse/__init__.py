"""The warehouse floor: tasks (and the exceptions a supervisor resolves), the
mutations that devices send (server/warehouse/mutations.py, applied by the sync
engine in sync/), and the push/pull endpoints."""
