"""The signed-in user's API token: see whether one exists, make a new one, or revoke it.

One token per user. Its key is shown once, when it is made; making a new one revokes the old.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.serializers import TokenSerializer, TokenStatusSerializer
from portal.models import User
from portal.services import audit


@transaction.atomic
def new_token(user: User) -> Token:
    """A new token for `user`; the one they had stops working."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit.record(user, "api_token.created", user)
    return token


@transaction.atomic
def revoke_token(user: User) -> bool:
    """Revoke the user's token; whether there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        audit.record(user, "api_token.revoked", user)
    return bool(deleted)


def _user(request: Request) -> User:
    return cast(User, request.user)  # IsAuthenticated: never anonymous here


class TokenView(APIView):
    """Your API token, signed in on the portal (session and CSRF token) or with the current token."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TokenStatusSerializer)
    def get(self, request: Request) -> Response:
        """Whether you have a token, and since when (never the key itself)."""
        token = Token.objects.filter(user=_user(request)).first()
        return Response({"exists": token is not None, "created": token.created if token else None})

    @extend_schema(request=None, responses={201: TokenSerializer})
    def post(self, request: Request) -> Response:
        """Make a new token (the old one stops working) and show its key, once."""
        return Response(TokenSerializer(new_token(_user(request))).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, *args: Any) -> Response:
        """Revoke your token."""
        revoke_token(_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
