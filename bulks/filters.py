from billing.api.filters import CharInFilter, TenantFilterSet
from bulks.models import Bulk


class BulkFilter(TenantFilterSet):
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = Bulk
        fields = ["status"]
