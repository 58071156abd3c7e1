"""Errors whose message is meant for the person who caused them."""

from __future__ import annotations


class UserFacingError(Exception):
    """A problem the user can fix (bad period, unknown team…); shown to them as-is, ephemerally."""


class PermissionDeniedError(UserFacingError):
    """The user may not do this; the message says who may."""
