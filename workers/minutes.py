"""The minutes worker: a consumer group that keeps the stored record of speeches current
(`dashboard.store.minutes.MinutesProjection` is its handler)."""

from __future__ import annotations

GROUP = "minutes"
