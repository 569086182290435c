"""Django model permissions on the API (CONVENTIONS §14): each view names the model it guards.

Our API views are APIViews without querysets, so DRF's DjangoModelPermissions cannot find the model;
a view sets `permission_model = Claim` (GET needs view_claim, POST add_claim, PUT/PATCH change_claim,
DELETE delete_claim) or `required_permissions = {"POST": ["claims.add_claim"]}` for anything else.
Reading needs view_<model> too: DRF's class lets any authenticated GET through, ours does not.
An authenticated user without the permission gets 403; an anonymous one 401 (IsAuthenticated first).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import BasePermission, IsAuthenticated

ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def model_perms(model, method: str) -> list[str]:
    """['claims.view_claim'] for (Claim, 'GET')."""
    action = ACTIONS.get(method.upper())
    if action is None:
        return []
    return [f"{model._meta.app_label}.{action}_{model._meta.model_name}"]


class ModelPermission(BasePermission):
    """The permissions `view.required_permissions[method]` or those of `view.permission_model` for the method."""

    def required(self, request, view) -> list[str] | None:
        explicit = getattr(view, "required_permissions", None)
        if explicit is not None:
            method = request.method.upper()
            if method in ("HEAD", "OPTIONS") and method not in explicit:
                # what GET needs, or (a POST-only view) what its first method needs
                return explicit.get("GET", next(iter(explicit.values()), None))
            return explicit.get(method)
        model = getattr(view, "permission_model", None)
        if model is None:
            raise AssertionError(f"{type(view).__name__} uses ModelPermission without a permission_model")
        return model_perms(model, request.method)

    def has_permission(self, request, view) -> bool:
        if not hasattr(view, request.method.lower()):
            return True  # the view answers 405 for a method it does not have
        perms = self.required(request, view)
        if perms is None:  # a method the view has but nobody listed: refused, not open
            self.message = f"{request.method} is not allowed to anyone here."
            return False
        user = request.user
        if not (user and user.is_authenticated and user.has_perms(perms)):
            self.message = f"This needs the permission {' and '.join(repr(p) for p in perms)}."
            return False
        return True


# What an API view lists in permission_classes.
API_PERMISSIONS = [IsAuthenticated, ModelPermission]


class PermissionSchema(AutoSchema):
    """drf-spectacular: a guarded operation documents 401 and 403 and the permission it needs."""

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        if direction != "response":
            return bodies
        explicit = getattr(self.view, "required_permissions", None)
        if explicit is not None:
            perms = explicit.get(self.method, [])
        else:
            perms = model_perms(self.view.permission_model, self.method)
        from core.api_errors import ERROR

        needed = " and ".join(f"`{p}`" for p in perms) or "a permission"
        for code, description in (
            ("401", "No credentials, or a wrong token."),
            ("403", f"Logged in without the permission {needed}."),
        ):
            if code not in bodies:  # with the body it has: {"detail": ...}
                bodies[code] = self._get_response_for_code(OpenApiResponse(ERROR, description=description), code)
        return bodies
