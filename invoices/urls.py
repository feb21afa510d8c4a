from django.urls import path

from invoices import views

urlpatterns = [
    path("files/<str:token>/", views.document_file, name="document-file"),
]
