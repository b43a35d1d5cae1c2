"""A one-file Django project (settings, views and URLconf here), served by Django's ASGI handler.

Function and class-based views (sync and async), ``require_http_methods``,
typed path converters, an ``include()`` with its own prefix, a regex route,
sync and async streaming responses, a file response, sessions (signed
cookies: no database), GZip and a custom 500 handler, as Django's docs write
them.
"""

from __future__ import annotations

import json
from pathlib import Path

import django
from django.conf import settings

HERE = Path(__file__).resolve().parent

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="asgifuzz-tests",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[
            "django.middleware.gzip.GZipMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        INSTALLED_APPS=["django.contrib.sessions"],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    )
    django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import (  # noqa: E402
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import include, path, re_path  # noqa: E402
from django.views import View  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_GET, require_http_methods, require_POST  # noqa: E402


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world"})


@csrf_exempt
@require_POST
def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.body, content_type=request.content_type)


@csrf_exempt
@require_http_methods(["POST", "PUT"])
def upload(request: HttpRequest) -> JsonResponse:
    size = 0
    while chunk := request.read(4096):
        size += len(chunk)
    return JsonResponse({"size": size})


@require_GET
def numbers(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse((f"{i}\n" for i in range(10)), content_type="text/plain")


def download(request: HttpRequest) -> FileResponse:
    return FileResponse(open(HERE / "__init__.py", "rb"))  # FileResponse closes it


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def visits(request: HttpRequest) -> JsonResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JsonResponse({"visits": request.session["visits"]})


async def ticks(request: HttpRequest) -> StreamingHttpResponse:
    async def gen():  # type: ignore[no-untyped-def]
        for i in range(5):
            yield f"tick {i}\n"

    return StreamingHttpResponse(gen(), content_type="text/plain")


def server_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse("server error", status=500, content_type="text/plain")


class ItemView(View):
    async def get(self, request: HttpRequest, item_id: int) -> JsonResponse:
        return JsonResponse({"item_id": item_id})

    async def delete(self, request: HttpRequest, item_id: int) -> HttpResponse:
        return HttpResponse(status=204)


class ArticleView(View):
    http_method_names = ["get", "post", "options"]  # narrower than the View default

    def get(self, request: HttpRequest, slug: str) -> JsonResponse:
        return JsonResponse({"slug": slug})

    def post(self, request: HttpRequest, slug: str) -> JsonResponse:
        return JsonResponse(json.loads(request.body or b"{}"))

    def put(self, request: HttpRequest, slug: str) -> JsonResponse:  # not in http_method_names: 405
        return JsonResponse({})


def year_archive(request: HttpRequest, year: str) -> JsonResponse:
    return JsonResponse({"year": year})


def user(request: HttpRequest, user_id: object) -> JsonResponse:
    return JsonResponse({"user": str(user_id)})


def file(request: HttpRequest, rest: str) -> JsonResponse:
    return JsonResponse({"path": rest})


def complicated(request: HttpRequest, code: str) -> JsonResponse:
    return JsonResponse({"code": code})


api_patterns = [
    path("users/<uuid:user_id>/", user, name="user"),
    path("files/<path:rest>", file, name="file"),
]

urlpatterns = [
    path("", index, name="index"),
    path("echo/", echo, name="echo"),
    path("upload/", upload, name="upload"),
    path("numbers/", numbers, name="numbers"),
    path("download/", download, name="download"),
    path("boom/", boom, name="boom"),
    path("visits/", visits, name="visits"),
    path("ticks/", ticks, name="ticks"),
    path("items/<int:item_id>/", ItemView.as_view(), name="item"),
    path("articles/<slug:slug>/", ArticleView.as_view(), name="article"),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", year_archive, name="archive"),
    re_path(r"^codes/(?P<code>[A-Z]{2}|[0-9]{3})/(?:x|y)$", complicated, name="complicated"),
    path("api/v1/", include(api_patterns)),
]

handler500 = server_error

application = get_asgi_application()
