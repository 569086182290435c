from django.contrib import admin
from django.urls import include, path

from core import views
from core.metrics.views import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path("metrics", metrics, name="metrics"),  # Prometheus' default path: no trailing slash
    path("api/", include("backend.api_urls")),
]
