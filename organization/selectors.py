from django.db.models import QuerySet

from organization.models import BankAccount, Biller, OrgUnit


def orgunit_queryset() -> QuerySet[OrgUnit]:
    return OrgUnit.objects.all()


def bank_queryset() -> QuerySet[BankAccount]:
    return BankAccount.objects.select_related("currency")


def biller_queryset() -> QuerySet[Biller]:
    return Biller.objects.all()
