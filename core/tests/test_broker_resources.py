"""django:// resources: a Connection holds no file descriptor until it connects; a URL names a real alias."""

import gc
import os

import pytest
from django.db import OperationalError
from kombu import Connection

from core.broker import db as sql

pytestmark = pytest.mark.django_db(transaction=True)


def open_fds() -> int:
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def test_a_thousand_unconnected_connections_leak_no_file_descriptor():
    Connection("django://").transport  # noqa: B018 - warm up imports (and their descriptors) first
    before = open_fds()
    for _ in range(1000):
        conn = Connection("django://")
        assert conn.as_uri() == "django://"  # builds the transport, as the worker banner and health check do
        conn.transport  # noqa: B018
        conn.close()
    assert open_fds() - before <= 2  # Django's or the test's own descriptors, not 2 per connection


def test_connect_and_close_leaves_no_file_descriptor_behind():
    with Connection("django://") as conn:
        conn.connect()
    before = open_fds()
    for _ in range(50):
        with Connection("django://") as conn:
            conn.connect()
            conn.default_channel  # noqa: B018
    assert open_fds() - before <= 2


def test_a_connect_that_fails_opens_nothing(monkeypatch):
    def database_down(self, *args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(sql.PrivateDatabase, "run", database_down)
    Connection("django://").transport  # noqa: B018
    before = open_fds()
    for _ in range(200):
        conn = Connection("django://")
        with pytest.raises(OperationalError):
            conn.transport.establish_connection()  # what Connection.connect() does on each attempt
        conn.close()
    assert open_fds() - before <= 2


def test_an_unknown_database_alias_fails_clearly_before_any_connection_attempt():
    conn = Connection("django://nosuchalias")
    with pytest.raises(ValueError, match="no database 'nosuchalias' in settings.DATABASES"):
        conn.connect()
    with pytest.raises(ValueError, match="nosuchalias"):
        Connection("django://nosuchalias").as_uri()
    with pytest.raises(ValueError, match="nosuchalias"):
        Connection("django://", transport_options={"database_alias": "nosuchalias"}).connect()


def test_the_url_names_the_alias():
    with Connection("django://default") as conn:
        conn.connect()
        assert conn.transport.alias == "default"
        assert conn.as_uri() == "django://"
    assert Connection("django:///").transport.alias == "default"
    with pytest.raises(ValueError, match="database_alias"):
        Connection("django://default", transport_options={"database_alias": "other"}).transport  # noqa: B018
