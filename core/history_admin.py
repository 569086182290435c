"""The admin base for audited models: django-simple-history's "History" pages, read-only.

SimpleHistoryAdmin's form for one old version saves whatever is POSTed to it, whatever the user's
permissions: SIMPLE_HISTORY_REVERT_DISABLED and a missing change permission only hide the "Revert"
button (django-simple-history 3.13; measured: an auditor with view permission alone wrote a plan back
with one POST). History here is an audit trail, so that form is refused for writing.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin


class AuditedAdmin(SimpleHistoryAdmin):
    """ModelAdmin plus "History": who changed what and when, readable with the model's view permission."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and (
            getattr(settings, "SIMPLE_HISTORY_REVERT_DISABLED", False) or not self.has_change_permission(request)
        ):
            raise PermissionDenied("History is read-only: an old version is never written back.")
        return super().history_form_view(request, object_id, version_id, extra_context)
