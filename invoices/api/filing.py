"""`POST /{documents}/{id}/retry_submission/`: a failed filing sent to the tax agency again,
over the API as in the admin (invoices.services.filing.document_retry_submission)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantViewSet
from billing.clock import real_now
from invoices.services.filing import document_retry_submission


class RetrySubmissionMixin(TenantViewSet):
    """For the views of every filed document: invoices, notes, purchases, retentions.
    The view lists `retry_submission` in its `actions_without_body`."""

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def retry_submission(self, request: Request, pk: str) -> Response:
        """Send a document whose filing failed (`biller_status: failed`) to the tax agency
        again, unchanged and with its folio, once the cause outside it is fixed: it goes
        back to `pending` with an `<object>.tax_agency_retried` event, the failed
        answer kept under `tax_agency.previous`. Any other status is a 409
        `tax_agency_not_failed`."""
        # The agency's submissions are scheduled on the real clock (the worker's), in both
        # modes: a retry is due at once, not at a test clock's hour.
        document = document_retry_submission(document=self.get_object(), now=real_now())
        return self._respond(document)
