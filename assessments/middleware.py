"""Login required everywhere; background saves get 401 JSON instead of a redirect."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse


class LoginRequired(LoginRequiredMiddleware):
    def handle_no_permission(
        self, request: HttpRequest, view_func: object
    ) -> HttpResponse:
        if request.headers.get("X-Requested-With") == "fetch":
            # The form keeps the unsent change and asks the reviewer to log in
            # again without leaving the page.
            return JsonResponse({"error": "session expired", "login": True}, status=401)
        return super().handle_no_permission(request, view_func)
