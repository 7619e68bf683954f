"""The staging pass's parts: its working state, what each unit reads and writes where,
and the grouping of transfer requests into nodes (``planner.passes.stage`` runs them)."""
