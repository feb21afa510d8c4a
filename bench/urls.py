"""The server's URLs plus `/bench/bare/`: a bare Django view that answers the bytes in
the file named by BENCH_READ_BODY_FILE, the read benchmark's baseline. It exists only
here, never in the server's own URLconf."""

import os
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config import urls as server_urls

_BODY = Path(os.environ["BENCH_READ_BODY_FILE"]).read_bytes()


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_BODY, content_type="application/json")


# Before the server's catch-all 404.
urlpatterns = [path("bench/bare/", bare), *server_urls.urlpatterns]
handler400 = server_urls.handler400
handler500 = server_urls.handler500
