"""Seeds the demo account: brands, the three demo users, a few hundred realistic contacts
(some with secondary e-mails) and one deleted contact. Idempotent: re-running keeps the data."""

import random

from django.core.management.base import BaseCommand
from django.db import transaction

from crm.models import AuditVia, Contact, LifecycleStage, Role, Tier, User
from crm.services import accounts, contacts
from crm.services.audit import audit_channel

FIRST_NAMES = [
    "Ana",
    "Bruno",
    "Camille",
    "Daniel",
    "Élodie",
    "Fatima",
    "Gabriel",
    "Hana",
    "Igor",
    "Julia",
    "Kenji",
    "Lucía",
    "Marc",
    "Nadia",
    "Olga",
    "Pedro",
    "Quentin",
    "Rosa",
    "Samir",
    "Tereza",
    "Ursula",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoé",
    "João",
    "Inês",
    "Mateus",
    "Léa",
]
LAST_NAMES = [
    "Silva",
    "Martin",
    "Dubois",
    "Santos",
    "Bernard",
    "Oliveira",
    "Moreau",
    "Costa",
    "Laurent",
    "Pereira",
    "Garcia",
    "Rodrigues",
    "Fournier",
    "Almeida",
    "Lefebvre",
    "Nakamura",
    "Kowalski",
    "Müller",
    "Rossi",
    "Haddad",
    "Okafor",
    "Nguyen",
    "Andersen",
    "Novak",
    "Schmidt",
]
COMPANIES = [
    ("Acme Analytics", "acme-analytics.com"),
    ("Borealis Health", "borealis.health"),
    ("Cobalt Logistics", "cobalt-logistics.io"),
    ("Delta Foods", "deltafoods.fr"),
    ("Estrela Energia", "estrela.com.br"),
    ("Fjord Software", "fjord.no"),
    ("Granite Bank", "granitebank.com"),
    ("Helix Bio", "helixbio.org"),
    ("Iris Media", "irismedia.pt"),
    ("Juniper Retail", "juniper-retail.co.uk"),
]
TITLES = [
    "Marketing Manager",
    "Head of Growth",
    "CTO",
    "Product Manager",
    "Sales Director",
    "Data Analyst",
    "Customer Success Lead",
    "CEO",
    "Event Coordinator",
    "Engineer",
]
DEMO_USERS = [
    ("admin@example.com", "admin", Role.SUPER_ADMIN, "Ada", "Admin"),
    ("marketer@example.com", "marketer", Role.MARKETING, "Mia", "Marketer"),
    ("viewer@example.com", "viewer", Role.VIEWER, "Victor", "Viewer"),
]


class Command(BaseCommand):
    help = "Seeds the demo account (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=300)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, contacts: int, seed: int, **options):
        with transaction.atomic(), audit_channel(via=AuditVia.COMMAND):
            self._seed(contacts, seed)

    def _seed(self, how_many: int, seed: int) -> None:
        account = accounts.account_get()
        if account.name == "My company":
            accounts.account_update(name="Demo Inc.", tier=Tier.PROFESSIONAL)
        for name, primary in (("Demo Inc.", True), ("Demo Academy", False)):
            from crm.models import Brand

            if not Brand.objects.filter(name=name).exists():
                accounts.brand_create(name=name, is_primary=primary)
        for email, password, role, first, last in DEMO_USERS:
            if not User.objects.filter(email=email).exists():
                user = accounts.user_create(
                    email=email, role=role, first_name=first, last_name=last
                )
                # The demo's well-known logins (admin/admin…) would fail the password validators
                # the services apply: set directly, for the local demo only.
                user.set_password(password)
                user.save(update_fields=["password"])
        if Contact.objects.exists():
            self.stdout.write("Demo contacts already present; kept as they are.")
            return
        rng = random.Random(seed)
        stages = [s.value for s in LifecycleStage]
        created = []
        for index in range(how_many):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            company, domain = rng.choice(COMPANIES)
            local = f"{first}.{last}".lower().replace("é", "e").replace("ü", "u").replace("ã", "a")
            local = local.replace("í", "i").replace("ê", "e").replace("ç", "c").replace("ú", "u")
            properties = {
                "email": f"{local}{index}@{domain}",
                "firstname": first,
                "lastname": last,
                "company": company,
                "jobtitle": rng.choice(TITLES),
                "lifecyclestage": rng.choice(stages),
                "phone": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                "country": rng.choice(["Brazil", "France", "Portugal", "Canada", "Japan"]),
            }
            if index % 12 == 0:
                properties["hs_additional_emails"] = f"{local}{index}@gmail.com"
            created.append(contacts.contact_create(properties=properties, source="demo"))
        contacts.contact_archive(contact=created[-1])
        self.stdout.write(f"Seeded {how_many} contacts (one of them deleted).")
