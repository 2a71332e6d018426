"""The CRM's core records: account, brands, users and roles, contacts and their e-mails,
tombstones of deleted contacts, custom property definitions, the contact timeline, API tokens,
alerts about operational problems and in-app notifications.

Invariants live in the database where they can: one primary brand, one live contact per
normalized primary e-mail, one owner per secondary e-mail, one tombstone per e-mail.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Length, Lower, NullIf, Replace, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def normalize_email(value: str | None) -> str:
    """Rule Z8: e-mails are matched trimmed and case-insensitively, and stored that way."""
    return (value or "").strip().lower()


class Tier(models.TextChoices):
    FREE = "free", _("Free")
    STARTER = "starter", _("Starter")
    PROFESSIONAL = "professional", _("Professional")
    ENTERPRISE = "enterprise", _("Enterprise")


# Rule E5: the longest consent text the account keeps (the API, the settings page, the service).
CONSENT_TEXT_MAX = 2000


class Account(models.Model):
    """The one CRM account of this installation (rule A1). Always the row with pk 1."""

    name = models.CharField(_("name"), max_length=200, default="My company")
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.FREE)
    # Rule E5: when not empty, the public registration page asks for this consent.
    registration_consent_text = models.TextField(_("registration consent text"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="account_is_singleton")]

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    is_primary = models.BooleanField(_("primary brand"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["-is_primary", "name"]
        constraints = [
            # At most one primary in the database; services keep it exactly one (rule A1).
            models.UniqueConstraint(
                fields=["is_primary"], condition=Q(is_primary=True), name="one_primary_brand"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    SUPER_ADMIN = "super_admin", _("Super admin")
    MARKETING = "marketing", _("Marketing")
    VIEWER = "viewer", _("Viewer")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        """Django's low-level constructor: it does not run the password validators (nor does
        Django's). Product entry points (UI, API) go through `crm.services.accounts`, which does;
        `manage.py createsuperuser` runs them when interactive."""
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("role", Role.SUPER_ADMIN)
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A CRM user: a person who logs in, by e-mail (rule A1)."""

    email = models.EmailField(_("e-mail"), max_length=254, unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # A code of settings.LANGUAGES, or blank: follow the browser (rule L1). No `choices` here,
    # so that adding a language needs no migration; crm.services.accounts checks the value.
    language = models.CharField(_("language"), max_length=10, blank=True, default="")
    # Super admins receive alerts in the app always, and by e-mail unless they turn this off.
    alert_emails = models.BooleanField(_("E-mail me about alerts"), default=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("CRM user")
        verbose_name_plural = _("CRM users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    # Role checks used by views, API permissions and templates.
    @property
    def can_write(self) -> bool:
        return self.is_active and self.role in (Role.SUPER_ADMIN, Role.MARKETING)

    @property
    def can_manage_settings(self) -> bool:
        return self.is_active and self.role == Role.SUPER_ADMIN


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MARKETING_QUALIFIED_LEAD = "marketingqualifiedlead", _("Marketing qualified lead")
    SALES_QUALIFIED_LEAD = "salesqualifiedlead", _("Sales qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    OTHER = "other", _("Other")


class LeadStatus(models.TextChoices):
    NEW = "NEW", _("New")
    OPEN = "OPEN", _("Open")
    IN_PROGRESS = "IN_PROGRESS", _("In progress")
    OPEN_DEAL = "OPEN_DEAL", _("Open deal")
    UNQUALIFIED = "UNQUALIFIED", _("Unqualified")
    ATTEMPTED_TO_CONTACT = "ATTEMPTED_TO_CONTACT", _("Attempted to contact")
    CONNECTED = "CONNECTED", _("Connected")
    BAD_TIMING = "BAD_TIMING", _("Bad timing")


# After the e-mail's last "@": what `rtrim` leaves, stripping every character but "@" from the
# end, is the e-mail up to that "@" (SQLite and PostgreSQL alike, and immutable as a stored
# column needs); NULL when there is no "@".
EMAIL_DOMAIN = NullIf(
    Substr(
        "email",
        Length(Func(F("email"), Replace(F("email"), Value("@"), Value("")), function="RTRIM")) + 1,
    ),
    F("email"),
)


class Contact(models.Model):
    """A person the CRM knows. `email` is the primary e-mail (rule Z5), stored normalized (Z8).

    An archived contact keeps its row (so it can be restored, rule B6) and leaves a tombstone
    by e-mail (rule Z6); only live contacts take part in the uniqueness of `email`.
    """

    # NULL (not ''): contacts without an e-mail stay outside the uniqueness constraint.
    email = models.CharField(_("e-mail"), max_length=254, null=True, blank=True)  # noqa: DJ001
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    phone = models.CharField(_("phone number"), max_length=64, blank=True)
    mobile_phone = models.CharField(_("mobile phone number"), max_length=64, blank=True)
    company = models.CharField(_("company name"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    website = models.CharField(_("website URL"), max_length=500, blank=True)
    address = models.CharField(_("street address"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    state = models.CharField(_("state/region"), max_length=120, blank=True)
    zip = models.CharField(_("postal code"), max_length=32, blank=True)
    country = models.CharField(_("country/region"), max_length=120, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=40, choices=LifecycleStage.choices, blank=True
    )
    lead_status = models.CharField(
        _("lead status"), max_length=40, choices=LeadStatus.choices, blank=True
    )
    # Values of custom properties, keyed by PropertyDefinition.name; values are strings.
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The part of the e-mail after its last "@" (NULL without one), kept by the database: a
    # segment on "e-mail ends with @gmail.com" reads this column's index, not every e-mail.
    email_domain = models.GeneratedField(
        expression=EMAIL_DOMAIN, output_field=models.CharField(max_length=254), db_persist=True
    )
    # The contact's event rollups are a row of its own: `marketing_events.ContactActivity`.

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(archived_at__isnull=True) & Q(email__isnull=False),
                name="unique_live_contact_email",
            ),
            models.CheckConstraint(
                condition=Q(email__isnull=True) | Q(email=Lower("email")),
                name="contact_email_lowercase",
            ),
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            models.Index(fields=["email"], name="contact_email_idx"),
            # "E-mail ends with @domain" on live contacts, with the id: read index-only and
            # in id order, to be merged with the ids of an activity set (crm migration 0009
            # adds a trigram index on the company for "contains").
            models.Index(
                fields=["email_domain", "id"],
                condition=Q(archived_at__isnull=True),
                name="contact_live_domain_id_idx",
            ),
            # The few archived contacts' ids, read index-only: a count of a set that names each
            # contact once leaves them out by an anti-join with this instead of reading every
            # member's contact row (segments.compiler).
            models.Index(
                fields=["id"],
                condition=Q(archived_at__isnull=False),
                name="contact_archived_id_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.full_name or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class SecondaryEmail(models.Model):
    """An extra address of a contact (HubSpot's `hs_additional_emails`). Rule Z5: activity under
    it is never recorded. An address belongs to at most one contact."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="secondary_emails")
    email = models.CharField(_("e-mail"), max_length=254, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("secondary e-mail")
        verbose_name_plural = _("secondary e-mails")
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="secondary_email_lowercase"
            )
        ]

    def __str__(self) -> str:
        return self.email


class Tombstone(models.Model):
    """Marks that the contact with this normalized e-mail was deleted: integrations never
    recreate it (rule Z6). Removed when the contact is restored (rule B6)."""

    email = models.CharField(_("e-mail"), max_length=254, unique=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="tombstones"
    )
    deleted_at = models.DateTimeField(default=timezone.now)
    deleted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("deleted contact's e-mail")
        verbose_name_plural = _("deleted contacts' e-mails")
        ordering = ["-deleted_at"]

    def __str__(self) -> str:
        return self.email


class PropertyType(models.TextChoices):
    STRING = "string", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    ENUMERATION = "enumeration", _("Enumeration")
    BOOL = "bool", _("Yes/no")


class PropertyDefinition(models.Model):
    """A custom contact property (HubSpot-compatible `/crm/v3/properties/contacts`).
    Standard properties are defined in code (`crm.properties`)."""

    name = models.SlugField(_("internal name"), max_length=100, unique=True)
    label = models.CharField(_("label"), max_length=200)
    type = models.CharField(_("type"), max_length=20, choices=PropertyType.choices)
    field_type = models.CharField(_("field type"), max_length=30, default="text")
    group_name = models.CharField(_("group"), max_length=100, default="contactinformation")
    description = models.TextField(_("description"), blank=True)
    # For enumerations: [{"label": "...", "value": "..."}, ...]
    options = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("contact property")
        verbose_name_plural = _("contact properties")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TimelineEvent(models.Model):
    """One entry of a contact's timeline (rule M4). `dedupe_key`, when set, makes writers
    idempotent: the same activity written twice stays one row."""

    # The sync writes tens of thousands of entries a minute, so the table keeps only the
    # indexes its reads need: `timeline_contact_idx` serves the contact's foreign key too, the
    # actor's covers only the rows that have one, and the dedupe key is a plain unique index.
    # No database constraint: contacts are archived, never deleted, by the product (rule B6);
    # Django's cascade still deletes the entries of a contact deleted through the ORM. A
    # check per entry was 0.4 s of a first sync's 92,000 entries (bench/sync_bench.py).
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="timeline",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=60)
    occurred_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)
    # NULL, not "": entries without a key never collide on the unique constraint.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("timeline activity")
        verbose_name_plural = _("timeline activities")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="timeline_contact_idx"),
            models.Index(
                fields=["actor"], condition=Q(actor__isnull=False), name="timeline_actor_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="timeline_dedupe_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.occurred_at:%Y-%m-%d}"


class TimelineEntry(models.Model):
    """What a contact's timeline shows (rules M4, E6), read-only: the stored entries
    (`TimelineEvent`) and the entries that a participation's own facts imply (registered,
    cancelled, attended) and its answers (one per occurrence and kind: poll, Q&A, survey,
    listing the items), which are derived where they are read rather than stored beside them:
    a first sync would otherwise write an entry and its three index entries for each of them
    (nine in ten of all its timeline rows), and keep them in step with every change.

    A database view, `crm_timeline_entries`: crm's migration makes it list the stored entries;
    marketing events' and engagement's migrations add the derived ones (they own their tables).
    A derived entry's id is negative, stable and distinct from every stored one:
    -(participation id x 4 + n) for a participation's, -(2^62 + (occurrence id x 10^10 +
    participation id) x 4 + n) for its answers. A migration that changes a column the view
    reads must drop and recreate it.
    """

    id = models.BigIntegerField(primary_key=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    kind = models.CharField(max_length=60)
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict)
    actor = models.ForeignKey(
        User, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )

    class Meta:
        managed = False
        db_table = "crm_timeline_entries"
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.occurred_at:%Y-%m-%d}"


class ApiToken(models.Model):
    """A bearer token for the REST APIs. Only its SHA-256 is stored; the clear token is shown
    once, at creation. Scopes limit what it may do; the owner's role limits it further."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Alert(models.Model):
    """An operational problem (a connection needing re-authorization, failing syncs, refused
    webhooks, a failing workflow), named by a stable `key` such as `connection:12:needs_reauth`.

    At most one alert per key is open at a time (a partial unique constraint); raising an open
    one only counts it again. Its text is never stored: `kind` and `params` are, and the kind's
    title, description and fix hint are translated when shown (rule L1; `crm.alerts`)."""

    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    # The object it is about ("zoom_connection", "workflow", ...) and where to see it.
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    link = models.CharField(max_length=500, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(resolved_at__isnull=True), name="one_open_alert_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({'resolved' if self.resolved_at else 'open'})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Notification(models.Model):
    """Something shown to one user under the bell: an alert (its text comes from the alert), or
    a message of its own (`title`, `body`), e.g. from a workflow step. Read or unread."""

    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
            # The bell's count on every page: the unread rows of one person only.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.alert_id or self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class AuditVia(models.TextChoices):
    """How an audited change reached the CRM."""

    UI = "ui", _("Web interface")
    API = "api", _("API")
    COMMAND = "command", _("Management command")
    SYSTEM = "system", _("System")


class AuditKind(models.TextChoices):
    """What an audit entry records. The values are the API's (rule L2); the labels are shown."""

    ZOOM_CONNECTED = "zoom.connected", _("Zoom connected")
    ZOOM_AUTHORIZATION_STARTED = "zoom.authorization_started", _("Zoom authorization started")
    ZOOM_REAUTHORIZED = "zoom.reauthorized", _("Zoom re-authorized")
    ZOOM_DISCONNECTED = "zoom.disconnected", _("Zoom disconnected")
    ZOOM_SETTINGS_CHANGED = "zoom.settings_changed", _("Zoom settings changed")
    ZOOM_USER_CHANGED = "zoom.user_changed", _("Zoom user settings changed")
    ZOOM_WEBINAR_CHANGED = "zoom.webinar_changed", _("Webinar sync setting changed")
    API_TOKEN_CREATED = "api_token.created", _("API token created")
    API_TOKEN_REVOKED = "api_token.revoked", _("API token revoked")
    USER_CREATED = "user.created", _("User created")
    USER_CHANGED = "user.changed", _("User edited")
    USER_ROLE_CHANGED = "user.role_changed", _("User role changed")
    USER_ACTIVATED = "user.activated", _("User activated")
    USER_DEACTIVATED = "user.deactivated", _("User deactivated")
    ACCOUNT_CHANGED = "account.changed", _("Account changed")
    BRAND_CREATED = "brand.created", _("Brand created")
    BRAND_CHANGED = "brand.changed", _("Brand edited")
    BRAND_MADE_PRIMARY = "brand.made_primary", _("Brand made primary")
    BRAND_DELETED = "brand.deleted", _("Brand deleted")
    WORKFLOW_CREATED = "workflow.created", _("Workflow created")
    WORKFLOW_TURNED_ON = "workflow.turned_on", _("Workflow turned on")
    WORKFLOW_TURNED_OFF = "workflow.turned_off", _("Workflow turned off")
    WORKFLOW_DELETED = "workflow.deleted", _("Workflow deleted")
    WORKFLOW_VERSION_PUBLISHED = "workflow.version_published", _("Workflow version published")
    CONTACT_DELETED = "contact.deleted", _("Contact deleted")
    CONTACT_RESTORED = "contact.restored", _("Contact restored")


class AuditEntry(models.Model):
    """One change made to the account's settings, people or data, by whom and how: the audit
    trail (issue 22). Written by `crm.services.audit.audit_record` in the transaction of the
    change it records; never updated. `before`/`after` hold only the fields that changed, and
    secrets never appear in them (a marker stands in)."""

    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    # Kept as it was: the entry still says who it was once the user is renamed or deleted.
    actor_email = models.CharField(max_length=254, blank=True)
    via = models.CharField(max_length=20, choices=AuditVia.choices, default=AuditVia.SYSTEM)
    # The API token used, by id and name; never its value.
    token_id = models.IntegerField(null=True, blank=True)
    token_name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=40, choices=AuditKind.choices)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-occurred_at", "-id"]
        # The audit page and API filter by person, kind and date, newest first.
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="audit_when_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_idx"),
            models.Index(fields=["kind", "-occurred_at"], name="audit_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target_type}:{self.target_id} @ {self.occurred_at:%Y-%m-%d}"
