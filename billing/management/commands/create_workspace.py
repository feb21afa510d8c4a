import json
from datetime import date
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from billing.addresses import comuna_code
from billing.errors import InvalidInput
from billing.models import Comuna
from billing.services.workspaces import IssuerFields, workspace_bootstrap

# --flag: (issuer field, help). What documents print of their issuer (Chile's Emisor).
ISSUER_FLAGS = {
    "legal_name": "razón social (documents print --name without it)",
    "activity_description": "giro, as registered with the SII",
    "activity_code": "the SII's código de actividad económica (Acteco), six digits",
    "address": "head office (casa matriz) street address",
    "comuna": "head office comuna, by code (13123) or name (Providencia)",
    "city": "head office city",
    "sii_office": "SII office printed under the folio (e.g. 'S.I.I. - Providencia')",
    "sii_resolution_number": "SII resolution number (0 in certification)",
    "sii_resolution_date": "SII resolution date, YYYY-MM-DD",
    "issuer_email": "email printed on documents",
    "logo_url": "the merchant's logo (an image URL) shown on the hosted checkout pages",
}


class Command(BaseCommand):
    help = (
        "Create (or reuse) a workspace and its owner, and issue the owner a new API token. "
        "The token is printed once; only its hash is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", required=True, help="ISO country code, e.g. CL")
        parser.add_argument("--email", required=True, help="the owner's email (their username)")
        parser.add_argument(
            "--tax-id", default="", help="the issuer's tax id (a RUT for CL), used on documents"
        )
        for name, help_text in ISSUER_FLAGS.items():
            parser.add_argument(f"--{name.replace('_', '-')}", default=None, help=help_text)
        parser.add_argument(
            "--test-mode",
            action="store_true",
            help="print the test-mode header to use with the token",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace, issued = workspace_bootstrap(
                name=options["name"],
                country_code=options["country"],
                email=options["email"],
                tax_id=options["tax_id"],
                issuer=_issuer(options),
                now=timezone.now(),
            )
        except InvalidInput as exc:
            raise CommandError(str(exc.errors)) from exc
        result = {"workspace": workspace.id, "token": issued.key, "email": options["email"]}
        if options["test_mode"]:
            result["test_mode"] = True
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Workspace: {workspace.id} ({workspace.name}, {workspace.country_id})")
        self.stdout.write(f"Token:     {issued.key}")
        self.stdout.write(f"Owner:     {options['email']}")
        headers = f"-H 'Authorization: Token {issued.key}' -H 'x-simple-workspace: {workspace.id}'"
        if options["test_mode"]:
            headers += " -H 'x-piriod-test-mode: true'"
        self.stdout.write(f"Try:       curl {headers} http://127.0.0.1:8000/customers/")


def _issuer(options: dict[str, Any]) -> IssuerFields:
    """The issuer fields given on the command line, as workspace_update_issuer takes them."""
    given = {name: options[name] for name in ISSUER_FLAGS if options[name] is not None}
    issuer: dict[str, Any] = {k: v for k, v in given.items() if k != "issuer_email"}
    if "issuer_email" in given:
        issuer["email"] = given["issuer_email"]
    try:
        for name in ("activity_code", "sii_resolution_number"):
            if name in issuer:
                issuer[name] = int(issuer[name])
        if "sii_resolution_date" in issuer:
            issuer["sii_resolution_date"] = date.fromisoformat(issuer["sii_resolution_date"])
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if "comuna" in issuer:
        key = issuer["comuna"]
        comuna = (
            Comuna.objects.filter(code=comuna_code(key)).first()
            or Comuna.objects.filter(name__iexact=key).first()
        )
        if comuna is None:
            raise CommandError(f"Unknown comuna {key!r}: give its code or name.")
        issuer["comuna"] = comuna
    # Each flag names an issuer field, its text parsed to the field's type above.
    return cast(IssuerFields, issuer)
