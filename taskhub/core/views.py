"""Error pages: the API answers in its JSON error shape even when no route matched."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not found", "fields": {}}, status=404)
    return page_not_found(request, exception)
