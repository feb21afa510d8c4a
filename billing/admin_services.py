"""Back-office forms that save through a service, as the API does.

A ModelAdmin whose `save_model` calls a service mixes in `ServiceSaveAdminMixin`: the
service is run once while the form is validated, in a savepoint that is rolled back, so
what it refuses (`InvalidInput` per field, `DomainError` with its reason) shows on the form
instead of failing the save with a 500. Its `delete_model`, run the same way when the
deletion is confirmed, lists a `DomainError` as the reason the object cannot be deleted
(as Django lists protected objects); a bulk delete goes through `delete_model` too.
"""

import copy
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
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

    def get_deleted_objects(
        self, objs: Sequence[Any] | QuerySet[Any], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(  # type: ignore[misc]
            objs, request
        )
        if not protected and not perms_needed:
            protected = self.delete_refusals(request, objs)
        return deleted, counts, perms_needed, protected

    def delete_refusals(
        self, request: HttpRequest, objs: Sequence[Model] | QuerySet[Any]
    ) -> list[str]:
        """Each object deleted in turn, as the bulk deletion will, and all rolled back: one
        that may go alone may not go with the others (a workspace's every owner)."""
        refusals = []
        with transaction.atomic():
            for obj in objs:
                try:
                    with transaction.atomic():
                        # A copy: a deleted instance loses its primary key.
                        self.delete_model(request, copy.deepcopy(obj))  # type: ignore[attr-defined]
                except DomainError as exc:
                    refusals.append(f"{obj}: {exc.detail}")
            transaction.set_rollback(True)
        return refusals

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)  # type: ignore[attr-defined]


class ServiceModelAdmin(ServiceSaveAdminMixin, admin.ModelAdmin):
    """An admin that creates, changes, archives and deletes only through the services the
    API's viewset calls, so the two cannot disagree: the same rules, refusals (`*_in_use`
    and the like, shown on the form) and events.

    A subclass names what the services take (`service_fields`, their TypedDict) and
    implements the `service_*` calls. Every other model field is read-only on the form, so
    nothing can be set past the services. The tenant of a new object is the form's
    `workspace` and `test_mode`, or, with `tenant_from`, that of the object it belongs to.
    """

    service_fields: Collection[str] = ()
    tenant_from: str | None = None
    # When set, `status` is changed by the archive service (to this) and the unarchive one.
    archived_status: str | None = None
    readonly_fields: ClassVar[list[str] | tuple[str, ...]] = ("id", "created_at", "updated_at")

    def service_create(self, *, workspace: Any, test_mode: bool, fields: dict[str, Any]) -> Model:
        raise NotImplementedError

    def service_update(self, obj: Any, fields: dict[str, Any]) -> Model:
        raise NotImplementedError

    def service_delete(self, obj: Any) -> None:
        raise NotImplementedError

    def service_archive(self, obj: Any) -> Model:
        raise NotImplementedError

    def service_unarchive(self, obj: Any) -> Model:
        raise NotImplementedError

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        writable = set(self.service_fields)
        if self.archived_status is not None:
            writable.add("status")
        if obj is None and self.tenant_from is None:
            # An object never moves to another tenant.
            writable |= {"workspace", "test_mode"}
        unwritable = [
            field.name
            for field in self.model._meta.fields
            if field.editable and field.name not in {*writable, *self.readonly_fields}
        ]
        return [*self.readonly_fields, *unwritable]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        names = form.changed_data if change else data
        fields = {name: data[name] for name in names if name in self.service_fields}
        if change:
            saved = self.service_update(obj, fields) if fields else obj
        else:
            if self.tenant_from is None:
                workspace, test_mode = data["workspace"], data["test_mode"]
            else:
                owner = data[self.tenant_from]
                workspace, test_mode = owner.workspace, owner.test_mode
            saved = self.service_create(workspace=workspace, test_mode=test_mode, fields=fields)
            obj.pk = saved.pk
        if self.archived_status is not None and "status" in form.changed_data:
            if data["status"] == self.archived_status:
                self.service_archive(saved)
            else:
                self.service_unarchive(saved)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.service_delete(obj)
