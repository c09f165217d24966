"""A check constraint that needs exact decimal arithmetic, so it exists on PostgreSQL only.

SQLite stores a decimal column as a binary float and evaluates `a <= b - c` in floating point:
an account drained exactly to zero can fail the check by one unit in the last place. On
SQLite the same rule is enforced exactly, in Python, by the ledger's services (which is the
design's "the same rules enforced in Python on SQLite"); PostgreSQL keeps it in the database.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class ExactCheckConstraint(models.CheckConstraint):
    @staticmethod
    def _exact(schema_editor: Any) -> bool:
        vendor: str = schema_editor.connection.vendor
        return vendor != "sqlite"

    def constraint_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().constraint_sql(model, schema_editor) if self._exact(schema_editor) else None

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().create_sql(model, schema_editor) if self._exact(schema_editor) else None

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().remove_sql(model, schema_editor) if self._exact(schema_editor) else None
