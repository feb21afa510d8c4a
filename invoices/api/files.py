"""File responses of the document routes: the PDF (`GET /invoices/{id}/pdf/` and every
other document's and order's, through PdfRouteMixin) and the DTE (`GET /invoices/{id}/xml/`
and every other fiscal document's the workspace issues, through XmlRouteMixin)."""

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from billing.api.errors import ErrorSerializer
from billing.api.viewsets import TenantViewSet
from invoices.dte import dte_filename, dte_xml
from invoices.pdf.render import document_filename
from invoices.pdf.storage import document_pdf

PDF_RESPONSES = {
    (200, "application/pdf"): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The stored PDF of a finalized document, or a preview of a draft "
        "(an order's is rendered when asked).",
    )
}


class PdfContentNegotiation(DefaultContentNegotiation):
    """A PDF route answers a PDF whatever `Accept` says (no 406); its errors stay JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    return response


# `GET /{resource}/{id}/pdf/` of a viewset: its object's PDF, whatever `Accept` says.
# Put before the viewset's base class. A comment, not a docstring: the schema generator
# reads a view class's docstring, or its first base's that has one, as the description of
# each of its routes.
class PdfRouteMixin(GenericAPIView):
    def pdf_file(self, obj: Any) -> tuple[bytes, str]:
        """The PDF and its file name: a fiscal document's stored PDF, or its draft's
        preview. A viewset of something else says how its objects are rendered."""
        return document_pdf(document=obj), document_filename(obj)

    @extend_schema(request=None, responses=PDF_RESPONSES)
    @action(detail=True, methods=["get"], content_negotiation_class=PdfContentNegotiation)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        return pdf_response(*self.pdf_file(self.get_object()))


XML_RESPONSES = {
    (200, "application/xml"): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The finalized document's DTE: the SII's XML, with its timbre (TED), "
        "signed with the workspace's certificate (ISO-8859-1).",
    ),
    (409, "application/json"): OpenApiResponse(
        ErrorSerializer,
        description="No DTE for this document: a draft, a folio no loaded CAF covers, no "
        "certificate loaded for the real tax agency, or issuer data the SII's schema "
        "requires missing from the workspace (dte_issuer_incomplete).",
    ),
}


def xml_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/xml; charset=ISO-8859-1")
    response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    return response


# `GET /{resource}/{id}/xml/` of a fiscal document's viewset: its DTE, whatever `Accept`
# says; a document without one (a draft, a supplier's own document, …) answers 409. Put
# before the viewset's base class. Described by a comment, not a docstring: drf-spectacular
# reads a view class's docstring, or its first base's that has one, as the description of
# each of its routes.
class XmlRouteMixin(TenantViewSet):
    @extend_schema(request=None, responses=XML_RESPONSES)
    @action(detail=True, methods=["get"], content_negotiation_class=PdfContentNegotiation)
    def xml(self, request: Request, pk: str) -> HttpResponse:
        document = self.get_object()
        return xml_response(dte_xml(document, now=self.tenant_now()), dte_filename(document))
