"""`manage.py ensure_admin`: the admin superuser on a fresh database; safe to run on every start."""

import logging
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import IntegrityError, transaction

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Create the superuser DJANGO_SUPERUSER_USERNAME (default admin) if it does not exist; "
        "without DJANGO_SUPERUSER_PASSWORD a password is generated and printed once."
    )

    def handle(self, *args, **options):
        user_model = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL") or "admin@localhost"
        if user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).exists():
            self.stdout.write(f"Superuser {username!r} already exists: nothing changed.")
            return

        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or ""
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        try:
            with transaction.atomic():
                user_model._default_manager.create_superuser(username=username, email=email, password=password)
        except IntegrityError:  # another ensure_admin created it between our check and our insert
            self.stdout.write(f"Superuser {username!r} already exists: nothing changed.")
            return

        logger.info("Created the admin superuser")  # no name or password in the log (CONVENTIONS.md §10)
        if generated:
            # Printed, not logged: this is the only time anyone can see it (it is stored hashed).
            self.stdout.write(
                self.style.SUCCESS(f"Created superuser {username!r} with password: {password}")
                + "\n(generated and shown only this once; set DJANGO_SUPERUSER_PASSWORD to choose it)"
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Created superuser {username!r} (password from DJANGO_SUPERUSER_PASSWORD)")
            )
