"""One staff demo user per role (issue 10), for trying the admin and the API as each role sees them."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction

DEMO_USERS = {
    "demo-assessor": "claims assessor",
    "demo-administrator": "claims administrator",
    "demo-operator": "operator",
    "demo-member-services": "member services",
    "demo-auditor": "auditor",
}


@transaction.atomic
def demo_users_ensure(password: str | None = None) -> tuple[list[str], str | None]:
    """Create the demo users that are missing, with `password` or a fresh random one, each in its role.

    Idempotent: a user that exists keeps its password (and any other groups) and is put back in its
    role. Returns the usernames created and the password they got (None when none was created).
    """
    created = []
    password = password or secrets.token_urlsafe(12)
    for username, role in DEMO_USERS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username, password=password, is_staff=True)
            created.append(username)
        group = Group.objects.filter(name=role).first()  # made by the migration core 0005_roles
        if group is not None:
            user.groups.add(group)
    return created, (password if created else None)
