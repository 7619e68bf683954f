"""The one base class for values that come from users: options and settings files.

The plan's own values are plain frozen dataclasses (``planner.model``); pydantic checks
what a user hands in, where its messages (naming the field) earn their keep.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """Immutable, and refuses fields it does not know (a typo must not pass silently)."""

    # defer_build: a class gets its validator when first validated, not at import
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
