"""Balance checks that compare sums of decimals exist on PostgreSQL only (see
ledger/constraints.py): SQLite evaluates them in floating point and refused an account
drained exactly to zero. On SQLite the ledger's services enforce the same rules exactly."""

from django.db import migrations
from django.db.models import F, Q

import ledger.constraints


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_entry_indexes")]

    operations = [
        migrations.RemoveConstraint(model_name="account", name="ledger_account_debits_within_credits"),
        migrations.AddConstraint(
            model_name="account",
            constraint=ledger.constraints.ExactCheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(debits_posted__lte=F("credits_posted") - F("debits_pending")),
                name="ledger_account_debits_within_credits",
            ),
        ),
        migrations.RemoveConstraint(model_name="account", name="ledger_account_credits_within_debits"),
        migrations.AddConstraint(
            model_name="account",
            constraint=ledger.constraints.ExactCheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(credits_posted__lte=F("debits_posted") - F("credits_pending")),
                name="ledger_account_credits_within_debits",
            ),
        ),
    ]
