"""Public campaign API for the frontend's HuFi pages. One API class per operation."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import selectors
from campaigns import serializers as s
from campaigns.hufi.gateway import service_wallet
from mrmarket.permissions import IsUser


class CampaignListApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[s.CampaignListQuerySerializer],
        responses=s.CampaignListOutputSerializer,
        tags=["campaigns"],
        operation_id="campaigns_list",
    )
    def get(self, request: Request) -> Response:
        query = s.CampaignListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        qs = selectors.campaign_list(
            status=data.get("status"), exchange_name=data.get("exchange_name")
        )
        skip, limit = data["skip"], data["limit"]
        page = list(qs[skip : skip + limit + 1])
        return Response(
            {
                "has_more": len(page) > limit,
                "results": s.CampaignOutputSerializer(page[:limit], many=True).data,
            }
        )


class CampaignDetailApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("chain_id", int, OpenApiParameter.PATH),
            OpenApiParameter("address", str, OpenApiParameter.PATH),
        ],
        responses=s.CampaignDetailOutputSerializer,
        tags=["campaigns"],
        operation_id="campaigns_detail",
    )
    def get(self, request: Request, chain_id: str, address: str) -> Response:
        campaign = selectors.campaign_get(chain_id=int(chain_id), address=address)
        join = selectors.campaign_join_get(
            campaign=campaign, wallet_address=service_wallet().address
        )
        received = selectors.payout_list(campaign=campaign).aggregate(total=Sum("amount"))["total"]
        fields: list[str] = list(s.CampaignOutputSerializer().fields.keys())
        body: dict[str, Any] = {name: getattr(campaign, name) for name in fields}
        body.update(
            {
                "manifest": campaign.manifest,
                "join_status": join.status if join else None,
                "joined_at": join.joined_at if join else None,
                "amount_received": received or Decimal(0),
            }
        )
        return Response(s.CampaignDetailOutputSerializer(body).data)


def _caller_id(request: Request) -> uuid.UUID:
    """The authenticated caller's id (IsUser ran): never None, so no query is left unfiltered."""
    user_id = request.user.pk
    if not isinstance(user_id, uuid.UUID):
        raise NotAuthenticated()
    return user_id


class JoinedCampaignListApi(APIView):
    """The caller's campaigns (through their orders) with scores and estimated daily rewards."""

    permission_classes = [IsUser]

    @extend_schema(
        responses=s.JoinedCampaignListOutputSerializer,
        tags=["campaigns"],
        operation_id="campaigns_joined",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.joined_campaigns(user_id=_caller_id(request))
        return Response(s.JoinedCampaignListOutputSerializer({"results": rows}).data)


class RewardListApi(APIView):
    """The caller's shares of received campaign rewards, newest payout first."""

    permission_classes = [IsUser]

    @extend_schema(
        parameters=[s.RewardListQuerySerializer],
        responses=s.RewardListOutputSerializer,
        tags=["campaigns"],
        operation_id="campaigns_rewards",
    )
    def get(self, request: Request) -> Response:
        query = s.RewardListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        skip, limit = query.validated_data["skip"], query.validated_data["limit"]
        page = list(selectors.allocation_list(user_id=_caller_id(request))[skip : skip + limit + 1])
        return Response(
            s.RewardListOutputSerializer(
                {"has_more": len(page) > limit, "results": page[:limit]}
            ).data
        )
