"""Turns errors a user can cause into API responses with messages fit to show."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A rule of the domain refused the action: 400 with the message."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message, *, field: str | None = None, code: str = "invalid"):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.code = code

    def as_data(self) -> dict:
        if self.field:
            return {self.field: [str(self.message)]}
        return {"detail": str(self.message), "code": self.code}


class Forbidden(DomainError):
    """The user's role may not do this (``core.policy``): 403 with the reason."""

    status_code = status.HTTP_403_FORBIDDEN


class Conflict(DomainError):
    """The action is not allowed from the object's current state: 409 with the reason."""

    status_code = status.HTTP_409_CONFLICT


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_data(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(as_serializer_error(exc), status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
