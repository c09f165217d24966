"""Domain errors of the campaigns app (the API handler maps them to the JSON error body)."""

from __future__ import annotations

from mrmarket.exceptions import Conflict, NotFound, Unavailable


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class HufiUnavailable(Unavailable):
    """HuFi (launcher or recording oracle) did not answer usefully in time."""

    code = "hufi_unavailable"


class CampaignNotJoinable(Conflict):
    code = "campaign_not_joinable"


class ParticipationConflict(Conflict):
    """A participation recorded for one user is reported for another (a caller's bug)."""

    code = "participation_conflict"
