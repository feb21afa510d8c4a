"""Back-office forms that save through a service, as the API does.

A ModelAdmin whose `save_model` calls a service mixes in `ServiceSaveAdminMixin`: the
service is run once while the form is validated, in a savepoint that is rolled back, so
what it refuses (`InvalidInput` per field, `DomainError` with its reason) shows on the form
instead of failing the save with a 500.
"""

import copy
from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest

from billing.errors import DomainError, InvalidInput


def add_service_errors(form: forms.BaseForm, exc: InvalidInput | DomainError) -> None:
    """The service's refusal on the form: on the field it names when the form has it."""
    if isinstance(exc, DomainError):
        form.add_error(None, exc.detail)
        return
    for field, errors in exc.errors.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, [f"{field}: {error}" for error in errors])


class ServiceSaveAdminMixin:
    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        admin = self

        class ServiceCheckedForm(form_class):  # type: ignore[misc,valid-type]
            def _post_clean(self) -> None:
                super()._post_clean()
                if not self.errors:
                    admin.check_save(request, self, change)

        ServiceCheckedForm.__name__ = form_class.__name__
        return ServiceCheckedForm

    def check_save(self, request: HttpRequest, form: Any, change: bool) -> None:
        # A copy: the dry run must not leave a primary key or saved state on the instance
        # the real save is made from.
        instance = copy.deepcopy(form.instance)
        try:
            with transaction.atomic():
                self.save_model(request, instance, form, change)  # type: ignore[attr-defined]
                transaction.set_rollback(True)
        except (InvalidInput, DomainError) as exc:
            add_service_errors(form, exc)
