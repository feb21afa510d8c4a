"""Factories of the organization app's models: branches, bank accounts, billers."""

import factory

from billing.tests.factories import TenantFactory
from organization.models import BankAccount, Biller, OrgUnit


class OrgUnitFactory(TenantFactory):
    class Meta:
        model = OrgUnit

    name = factory.Sequence(lambda n: f"Sucursal {n}")
    address = "Av. Apoquindo 4500"
    sii_branch_code = factory.Sequence(lambda n: str(81000000 + n))


class BankAccountFactory(TenantFactory):
    class Meta:
        model = BankAccount

    bank_name = "Banco de Chile"
    account_number = factory.Sequence(lambda n: f"00-{n:08d}")
    currency_id = "CLP"


class BillerFactory(TenantFactory):
    class Meta:
        model = Biller


FACTORIES: dict[type, type[TenantFactory]] = {
    OrgUnit: OrgUnitFactory,
    BankAccount: BankAccountFactory,
    Biller: BillerFactory,
}
