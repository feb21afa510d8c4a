import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from billing.errors import InvalidInput
from billing.services.workspaces import workspace_bootstrap


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
