"""Swagger UI (/api/docs/) and ReDoc (/api/redoc/) served from the project alone, so they work offline.

drf-spectacular-sidecar ships the Swagger UI and ReDoc bundles as static files (SPECTACULAR_SETTINGS
"SIDECAR"), but two requests still went out to the internet: ReDoc's page links Google Fonts, and the
ReDoc bundle draws the "API docs by Redocly" footer with its logo from cdn.redoc.ly. The ReDoc template
here drops the fonts, and both pages carry a Content-Security-Policy that allows our own origin only,
so the browser never even asks another host (the footer's logo simply does not show).
"""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# Inline scripts and styles: drf-spectacular's pages start Swagger UI and ReDoc inline. blob: workers:
# ReDoc's search index runs in a Web Worker made from a blob. data: images: Swagger UI's icons.
SELF_ONLY_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'self'",
    )
)


class _SelfOnly:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = SELF_ONLY_CSP
        return response


class SwaggerDocsView(_SelfOnly, SpectacularSwaggerView):
    """Swagger UI from our static files (drf-spectacular's page)."""


class RedocDocsView(_SelfOnly, SpectacularRedocView):
    """ReDoc from our static files, without the Google Fonts links of drf-spectacular's page."""

    template_name = "api_docs/redoc.html"
