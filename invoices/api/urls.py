from rest_framework.routers import SimpleRouter

from invoices.api import notes, orders, views

router = SimpleRouter()
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("creditnotes", notes.CreditNoteViewSet, basename="creditnote")
router.register("debitnotes", notes.DebitNoteViewSet, basename="debitnote")
router.register("orders", orders.OrderViewSet, basename="order")

urlpatterns = router.urls
