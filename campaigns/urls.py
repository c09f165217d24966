"""Routes of the campaigns app (CONTRACT.md style: no prefix, no trailing slash).

The detail path mirrors HuFi's own campaign id, `{chain_id}-{address}`.
"""

from django.urls import re_path

from campaigns import apis

urlpatterns = [
    re_path(r"^campaigns$", apis.CampaignListApi.as_view(), name="campaigns-list"),
    re_path(r"^campaigns/joined$", apis.JoinedCampaignListApi.as_view(), name="campaigns-joined"),
    re_path(r"^campaigns/rewards$", apis.RewardListApi.as_view(), name="campaigns-rewards"),
    re_path(
        r"^campaigns/(?P<chain_id>[0-9]+)-(?P<address>0x[0-9a-fA-F]{40})$",
        apis.CampaignDetailApi.as_view(),
        name="campaigns-detail",
    ),
]
