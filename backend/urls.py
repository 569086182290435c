from django.contrib import admin
from django.urls import include, path

from core import views
from core.metrics.views import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path("health/live", views.health_live, name="health-live"),  # process up; touches nothing
    path("health/ready", views.health_ready, name="health-ready"),  # database, cache, broker, a worker
    path("metrics", metrics, name="metrics"),  # Prometheus' default path: no trailing slash
    path("api/", include("backend.api_urls")),
]
