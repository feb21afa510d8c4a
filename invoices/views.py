"""Public (token-less) views: a document's PDF behind a signed, expiring link."""

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from invoices.pdf.render import document_filename
from invoices.pdf.storage import document_from_token


@require_safe
def document_file(request: HttpRequest, token: str) -> FileResponse:
    document = document_from_token(token)
    if document is None:
        raise Http404("This link is invalid or has expired.")
    response = FileResponse(
        document.pdf.open("rb"),
        content_type="application/pdf",
        filename=document_filename(document),
    )
    # The link is a bearer secret: keep it out of shared caches and search engines.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
