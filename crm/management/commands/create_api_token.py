from django.core.management.base import BaseCommand, CommandError

from crm.errors import ValidationFailed
from crm.models import AuditVia, User, normalize_email
from crm.scopes import SCOPES
from crm.services.audit import audit_channel
from crm.services.tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Creates an API token for the user with this e-mail and prints it (alone on the last "
        "line). Without --scopes the token gets every scope the user's role allows."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="CLI token")
        parser.add_argument(
            "--scopes",
            nargs="+",
            metavar="SCOPE",
            help="Scopes to grant, among: " + ", ".join(sorted(SCOPES)),
        )

    def handle(self, *args, email, name, scopes, **options):
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise CommandError(f"No CRM user has the e-mail {email!r}.")
        if not user.is_active:
            raise CommandError(f"The user {user.email} is deactivated.")
        try:
            # The audit trail records it as the command's: who ran it is not known here.
            with audit_channel(via=AuditVia.COMMAND):
                token, clear = api_token_create(user=user, name=name, scopes=scopes)
        except ValidationFailed as exc:
            raise CommandError(exc.message)
        self.stderr.write(
            f"Token {token.prefix}… for {user.email} ({user.role}) with scopes: "
            + ", ".join(token.scopes)
        )
        self.stdout.write(clear)
