import pytest

from notifications.tests.smtp import SmtpServer


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free localhost port, started (see SmtpServer to start it later)."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    """This process sends through `smtp_server`, with fast retries."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.NOTIFICATION_RETRY_BACKOFF = 0.2
    settings.NOTIFICATION_RETRY_BACKOFF_MAX = 1
    return settings
