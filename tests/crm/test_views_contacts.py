"""Contacts UI: list (search, sort, pages, empty states), contact page, create/edit with
inline errors, delete (tombstone) and restore (rule B6), secondary e-mails over HTMX."""

import pytest
from django.urls import reverse

from crm.models import Contact, PropertyDefinition, SecondaryEmail, TimelineEntry, Tombstone
from crm.services.contacts import contact_archive, contact_create
from crm.services.timeline import timeline_event_add
from tests.factories import ContactFactory, SecondaryEmailFactory

pytestmark = pytest.mark.django_db

LIST = reverse("crm:contact_list")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "contact-results"}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _contact(**properties):
    return contact_create(properties=properties)


# Login and the home page ------------------------------------------------------------------


def test_anonymous_root_redirects_to_login_form(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()
    assert "E-mail" in page.content.decode()


def test_anonymous_contacts_list_redirects_to_login(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_by_email_any_case_then_root_shows_contacts(client, admin_user):
    response = client.post(
        reverse("login"), {"username": "  ADMIN@crm.test ", "password": "password"}
    )
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert client.get("/")["Location"] == LIST
    page = client.get(LIST)
    assert page.status_code == 200
    assert 'data-testid="current-role">Super admin<' in page.content.decode()


def test_login_with_wrong_password_shows_error(client, admin_user):
    response = client.post(reverse("login"), {"username": "admin@crm.test", "password": "nope"})
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()


def test_logout_is_post_only(admin_client):
    assert admin_client.get(reverse("logout")).status_code == 405
    response = admin_client.post(reverse("logout"))
    assert response.status_code == 302
    assert admin_client.get(LIST).status_code == 302


def test_nav_shows_sections_user_role_and_logout(admin_client):
    html = admin_client.get(LIST).content.decode()
    for url_name in (
        "crm:contact_list",
        "marketing_events:list",
        "segments:list",
        "workflows:list",
        "crm:settings",
    ):
        assert f'href="{reverse(url_name)}"' in html
    assert "Super admin" in html
    assert f'action="{reverse("logout")}"' in html


def test_workflows_section_explains_the_tier_it_needs(admin_client):
    # The workflows app replaced the "coming soon" placeholder; below Professional it explains.
    response = admin_client.get(reverse("workflows:list"))
    assert response.status_code == 200
    assert "Workflows need the Professional or Enterprise tier" in response.content.decode()


# List -------------------------------------------------------------------------------------


def test_empty_list_invites_to_create_one(admin_client):
    html = admin_client.get(LIST).content.decode()
    assert "No contacts yet" in html
    assert f'href="{reverse("crm:contact_create")}"' in html


def test_search_without_match_says_so(admin_client):
    _contact(email="ana@example.com", firstname="Ana")
    html = admin_client.get(LIST, {"q": "zebra"}).content.decode()
    assert "No contact matches “zebra”" in html
    assert "ana@example.com" not in html


def test_search_finds_by_name_email_company_and_secondary_email(admin_client):
    ana = _contact(email="ana@example.com", firstname="Ana", lastname="Silva", company="Globex")
    _contact(email="bob@example.com", firstname="Bob", company="Initech")
    SecondaryEmail.objects.create(contact=ana, email="ana.home@mail.test")
    for term in ("silva", "ANA@", "globex", "home@mail"):
        html = admin_client.get(LIST, {"q": term}).content.decode()
        assert "ana@example.com" in html, term
        assert "bob@example.com" not in html, term


@pytest.mark.parametrize("headers", [{}, HTMX])
@pytest.mark.parametrize("url", [LIST, reverse("crm:contact_deleted_list")])
def test_a_too_long_search_says_so_inline_and_reads_no_contact(admin_client, headers, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _contact(email="ana@example.com", firstname="Ana")
    words = "ana " * 60  # 240 characters: 60 words, each a LIKE over five columns

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url, {"q": words}, **headers)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="search-error"' in html
    assert "The search is too long: use at most 200 characters." in html
    assert "ana@example.com" not in html
    assert not any(Contact._meta.db_table in q["sql"] for q in queries.captured_queries)


def test_a_search_of_200_characters_runs(admin_client):
    _contact(email="ana@example.com", firstname="Ana")
    html = admin_client.get(LIST, {"q": "ana " * 49 + "ana"}).content.decode()
    assert "ana@example.com" in html
    assert 'maxlength="200"' in admin_client.get(LIST).content.decode()


def test_htmx_search_returns_only_the_results_fragment(admin_client):
    _contact(email="ana@example.com", firstname="Ana")
    _contact(email="bob@example.com", firstname="Bob")
    response = admin_client.get(LIST, {"q": "bob"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'data-testid="contact-table"' in html
    assert "bob@example.com" in html and "ana@example.com" not in html
    assert "HX-Request" in response["Vary"]


def test_full_page_has_live_search_wired_to_the_results(admin_client):
    html = admin_client.get(LIST).content.decode()
    assert 'id="contact-search"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'hx-target="#contact-results"' in html
    assert 'hx-push-url="true"' in html
    assert 'id="contact-results"' in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Able", "Baker", "Cole"]),
        ("-name", ["Cole", "Baker", "Able"]),
        ("email", ["Cole", "Able", "Baker"]),
        ("company", ["Baker", "Cole", "Able"]),
        ("-company", ["Able", "Cole", "Baker"]),
        ("created", ["Able", "Baker", "Cole"]),
        ("-created", ["Cole", "Baker", "Able"]),
    ],
)
def test_sorting_by_column(admin_client, sort, expected):
    _contact(email="b@example.com", lastname="Able", company="Zeta")
    _contact(email="c@example.com", lastname="Baker", company="Alpha")
    _contact(email="a@example.com", lastname="Cole", company="Mid")
    html = admin_client.get(LIST, {"sort": sort}).content.decode()
    positions = [html.index(name) for name in expected]
    assert positions == sorted(positions)


def test_unknown_sort_falls_back_to_newest_first(admin_client):
    _contact(email="old@example.com")
    _contact(email="new@example.com")
    html = admin_client.get(LIST, {"sort": "password"}).content.decode()
    assert html.index("new@example.com") < html.index("old@example.com")


def test_headers_toggle_direction_and_keep_the_search(admin_client):
    _contact(email="a@example.com")
    html = admin_client.get(LIST, {"q": "a", "sort": "name"}).content.decode()
    assert "?q=a&amp;sort=-name" in html  # the active column flips
    assert "?q=a&amp;sort=email" in html


def test_pagination_25_per_page(admin_client):
    for i in range(30):
        ContactFactory(email=f"p{i:02d}@example.com", last_name=f"N{i:02d}")
    page1 = admin_client.get(LIST, {"sort": "email"}).content.decode()
    page2 = admin_client.get(LIST, {"sort": "email", "page": 2}).content.decode()
    assert "p00@example.com" in page1 and "p24@example.com" in page1
    assert "p25@example.com" not in page1
    assert "p25@example.com" in page2 and "p29@example.com" in page2
    assert "30 contacts" in page1
    assert "?sort=email&amp;page=2" in page1


@pytest.mark.parametrize("count", [5, 60])
def test_list_query_count_is_bounded(admin_client, django_assert_max_num_queries, count):
    for _ in range(count):
        SecondaryEmailFactory.create_batch(2, contact=ContactFactory())
    with django_assert_max_num_queries(6):
        response = admin_client.get(LIST)
    assert response.status_code == 200
    assert "+2" in response.content.decode()
    with django_assert_max_num_queries(6):
        admin_client.get(LIST, {"q": "example", "page": 2, "sort": "name"}, **HTMX)


@pytest.mark.parametrize("count", [5, 60])
def test_deleted_list_query_count_is_bounded(admin_client, django_assert_max_num_queries, count):
    for _ in range(count):
        contact = ContactFactory(archived_at="2025-01-01T00:00:00Z")
        SecondaryEmailFactory(contact=contact)
    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("crm:contact_deleted_list"))
    assert response.status_code == 200


def test_deleted_contacts_view_lists_only_archived_with_restore(admin_client):
    live = _contact(email="live@example.com")
    gone = _contact(email="gone@example.com")
    contact_archive(contact=gone)
    html = admin_client.get(reverse("crm:contact_deleted_list")).content.decode()
    assert "gone@example.com" in html
    assert "live@example.com" not in html
    assert reverse("crm:contact_restore", args=[gone.pk]) in html
    assert "gone@example.com" not in admin_client.get(LIST).content.decode()
    assert live.pk


def test_deleted_contacts_empty_state(admin_client):
    html = admin_client.get(reverse("crm:contact_deleted_list")).content.decode()
    assert "No deleted contacts" in html


# Contact page -----------------------------------------------------------------------------


def test_contact_page_shows_properties_blanks_and_custom(admin_client):
    PropertyDefinition.objects.create(
        name="favourite_colour",
        label="Favourite colour",
        type="enumeration",
        field_type="select",
        options=[{"label": "Red", "value": "red"}],
    )
    PropertyDefinition.objects.create(name="nps", label="NPS score", type="number")
    contact = _contact(
        email="ana@example.com",
        firstname="Ana",
        lastname="Silva",
        lifecyclestage="lead",
        favourite_colour="red",
    )
    html = admin_client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    assert "Ana Silva" in html
    assert "Contact information" in html and "Custom properties" in html
    assert "Favourite colour" in html and ">Red<" in html
    assert ">Lead<" in html  # option label, not the value
    nps_row = html[html.index('data-property="nps"') :][:300]
    assert "—" in nps_row
    assert 'data-property="createdate"' in html


def test_contact_page_timeline_newest_first_with_labels_and_generic_fallback(admin_client):
    contact = _contact(email="ana@example.com")
    timeline_event_add(
        contact=contact,
        kind="zoom_webinar_registered",
        occurred_at=contact.created_at.replace(year=2030),
        data={"webinar_id": "81234567890", "webinar_name": "Launch"},
    )
    timeline_event_add(
        contact=contact,
        kind="poll_answered",
        occurred_at=contact.created_at.replace(year=2031),
        data={"question": "Favourite?", "answer": "Blue"},
    )
    html = admin_client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    assert "Contact created" in html
    assert "Registered for a Zoom webinar" in html and "81234567890" in html
    assert "Launch" in html
    assert "Poll answered" in html and "Favourite?" in html and "Blue" in html
    assert html.index("Poll answered") < html.index("Registered for a Zoom webinar")
    assert html.index("Registered for a Zoom webinar") < html.index("Contact created")


def test_answer_entries_list_each_question_and_answer(admin_client):  # rule E6
    contact = _contact(email="ana@example.com")
    timeline_event_add(
        contact=contact,
        kind="zoom_webinar_question_asked",
        occurred_at=contact.created_at.replace(year=2030),
        data={
            "event_id": 7,
            "occurrence": "XqQ9Fu6zq99UPjH9mGtpmg==",
            "webinar_name": "Launch",
            "items": [
                {"question": "Can we export <the> data?", "answer": "", "status": "open"},
                {"question": "Pricing?", "answer": "Per seat", "status": "answered"},
            ],
        },
    )
    html = admin_client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    answers = html[html.index('class="timeline__answers"') :][:600]
    assert "Can we export &lt;the&gt; data?</span> <span" in answers  # no answer yet: none shown
    assert "(open)" in answers
    assert "Pricing?</span> — Per seat" in answers and "(answered)" in answers
    assert "{&#x27;question&#x27;" not in html and "{'question'" not in html  # no raw list
    assert "XqQ9Fu6zq99UPjH9mGtpmg==" not in html  # machine keys are for the API
    assert ">Answers<" in html and ">Launch<" in html


def test_unknown_contact_is_404(admin_client):
    assert admin_client.get(reverse("crm:contact_detail", args=[999])).status_code == 404


# Create and edit --------------------------------------------------------------------------


def test_create_contact(admin_client, admin_user):
    response = admin_client.post(
        reverse("crm:contact_create"),
        {"email": " New@Example.com ", "firstname": "Nia", "lastname": "Lee", "company": "Acme"},
    )
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:contact_detail", args=[contact.pk])
    assert (contact.email, contact.first_name, contact.company) == (
        "new@example.com",
        "Nia",
        "Acme",
    )
    event = TimelineEntry.objects.get(contact=contact)
    assert (event.kind, event.actor) == ("contact_created", admin_user)


def test_create_form_renders_grouped_fields(admin_client):
    html = admin_client.get(reverse("crm:contact_create")).content.decode()
    assert 'name="email"' in html and 'name="lifecyclestage"' in html
    assert 'name="hs_object_id"' not in html  # read-only


def test_create_with_bad_values_shows_inline_errors_and_saves_nothing(admin_client):
    PropertyDefinition.objects.create(name="nps", label="NPS score", type="number")
    response = admin_client.post(
        reverse("crm:contact_create"), {"email": "not-an-email", "nps": "many", "firstname": "X"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert Contact.objects.count() == 0
    assert "Nothing was saved" in html
    email_field = html[html.index('data-field="email"') :][:800]
    assert "Enter a valid e-mail address" in email_field
    nps_field = html[html.index('data-field="nps"') :][:800]
    assert "Enter a number" in nps_field
    assert 'value="X"' in html  # what was typed is kept


def test_create_with_invalid_option_is_refused(admin_client):
    response = admin_client.post(reverse("crm:contact_create"), {"lifecyclestage": "boss"})
    assert response.status_code == 400
    assert Contact.objects.count() == 0


def test_create_duplicate_email_links_to_existing_contact(admin_client):
    existing = _contact(email="ana@example.com")
    response = admin_client.post(reverse("crm:contact_create"), {"email": "ANA@example.com"})
    html = response.content.decode()
    assert response.status_code == 409
    assert Contact.objects.count() == 1
    assert "already exists" in html
    assert f'href="{reverse("crm:contact_detail", args=[existing.pk])}"' in html


def test_edit_contact_changes_only_what_was_changed(admin_client):
    PropertyDefinition.objects.create(name="nps", label="NPS score", type="number")
    contact = _contact(email="ana@example.com", firstname="Ana", nps="9")
    url = reverse("crm:contact_edit", args=[contact.pk])
    form = admin_client.get(url)
    assert 'value="Ana"' in form.content.decode()
    response = admin_client.post(
        url, {"email": "ana@example.com", "firstname": "Anna", "nps": "9", "city": "Porto"}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.first_name, contact.city, contact.properties["nps"]) == ("Anna", "Porto", "9")


def test_edit_with_bad_value_changes_nothing(admin_client):
    contact = _contact(email="ana@example.com", firstname="Ana")
    response = admin_client.post(
        reverse("crm:contact_edit", args=[contact.pk]),
        {"email": "broken@", "firstname": "Changed"},
    )
    assert response.status_code == 400
    assert "Enter a valid e-mail address" in response.content.decode()
    contact.refresh_from_db()
    assert (contact.email, contact.first_name) == ("ana@example.com", "Ana")


def test_edit_to_taken_email_links_to_owner(admin_client):
    owner = _contact(email="taken@example.com")
    contact = _contact(email="ana@example.com")
    response = admin_client.post(
        reverse("crm:contact_edit", args=[contact.pk]), {"email": "taken@example.com"}
    )
    assert response.status_code == 409
    assert reverse("crm:contact_detail", args=[owner.pk]) in response.content.decode()
    contact.refresh_from_db()
    assert contact.email == "ana@example.com"


# Delete and restore -----------------------------------------------------------------------


def test_delete_asks_for_confirmation_then_leaves_a_tombstone(admin_client):
    contact = _contact(email="ana@example.com", firstname="Ana")
    url = reverse("crm:contact_delete", args=[contact.pk])
    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert "Delete Ana?" in confirm.content.decode()
    contact.refresh_from_db()
    assert contact.archived_at is None

    response = admin_client.post(url, follow=True)
    contact.refresh_from_db()
    html = response.content.decode()
    assert contact.archived_at is not None
    assert Tombstone.objects.filter(email="ana@example.com").exists()
    assert 'data-testid="archived-banner"' in html
    assert reverse("crm:contact_restore", args=[contact.pk]) in html
    assert reverse("crm:contact_edit", args=[contact.pk]) not in html
    assert "Contact deleted" in html


def test_restore_lifts_the_tombstone(admin_client):
    contact = _contact(email="ana@example.com")
    contact_archive(contact=contact)
    response = admin_client.post(reverse("crm:contact_restore", args=[contact.pk]), follow=True)
    contact.refresh_from_db()
    html = response.content.decode()
    assert contact.archived_at is None
    assert not Tombstone.objects.exists()
    assert "Contact restored" in html
    assert 'data-testid="archived-banner"' not in html


def test_restore_from_deleted_list_returns_there(admin_client):
    contact = _contact(email="ana@example.com")
    contact_archive(contact=contact)
    response = admin_client.post(
        reverse("crm:contact_restore", args=[contact.pk]), {"next": "deleted"}
    )
    assert response["Location"] == reverse("crm:contact_deleted_list")


def test_restore_refused_when_email_taken_again(admin_client):
    contact = _contact(email="ana@example.com")
    contact_archive(contact=contact)
    newer = _contact(email="ana@example.com")
    response = admin_client.post(reverse("crm:contact_restore", args=[contact.pk]), follow=True)
    contact.refresh_from_db()
    assert contact.archived_at is not None
    assert f"contact #{newer.pk} now uses its e-mail" in response.content.decode()


def test_restore_is_post_only(admin_client):
    contact = _contact(email="ana@example.com")
    response = admin_client.get(reverse("crm:contact_restore", args=[contact.pk]))
    assert response.status_code == 405


def test_archived_contact_cannot_be_edited(admin_client):
    contact = _contact(email="ana@example.com")
    contact_archive(contact=contact)
    response = admin_client.get(reverse("crm:contact_edit", args=[contact.pk]))
    assert response.status_code == 302
    response = admin_client.post(
        reverse("crm:contact_email_add", args=[contact.pk]), {"email": "x@example.com"}
    )
    assert response.status_code == 404
    assert not SecondaryEmail.objects.exists()


# Secondary e-mails over HTMX ----------------------------------------------------------------


def test_add_secondary_email_htmx_returns_the_fragment(admin_client):
    contact = _contact(email="ana@example.com")
    response = admin_client.post(
        reverse("crm:contact_email_add", args=[contact.pk]),
        {"email": " Ana@Home.Example "},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="secondary-emails"' in html
    assert "ana@home.example" in html
    assert list(contact.secondary_emails.values_list("email", flat=True)) == ["ana@home.example"]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nope", "Enter a valid e-mail address"),
        ("ana@example.com", "already the contact&#x27;s primary e-mail"),
        ("bob@example.com", "already belongs to another contact"),
        ("", "Enter an e-mail address to add."),
    ],
)
def test_add_secondary_email_errors_inline(admin_client, email, message):
    contact = _contact(email="ana@example.com")
    _contact(email="bob@example.com")
    response = admin_client.post(
        reverse("crm:contact_email_add", args=[contact.pk]),
        {"email": email},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="field__error"' in html
    assert message in html
    assert not SecondaryEmail.objects.exists()


def test_remove_secondary_email(admin_client):
    contact = _contact(email="ana@example.com")
    SecondaryEmail.objects.create(contact=contact, email="old@example.com")
    response = admin_client.post(
        reverse("crm:contact_email_remove", args=[contact.pk]),
        {"email": "old@example.com"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "old@example.com" not in response.content.decode()
    assert not SecondaryEmail.objects.exists()


def test_secondary_email_without_htmx_redirects_back(admin_client):
    contact = _contact(email="ana@example.com")
    response = admin_client.post(
        reverse("crm:contact_email_add", args=[contact.pk]), {"email": "x@example.com"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:contact_detail", args=[contact.pk])
    assert contact.secondary_emails.count() == 1


def test_multi_select_custom_property_round_trips(admin_client):
    PropertyDefinition.objects.create(
        name="interests",
        label="Interests",
        type="enumeration",
        field_type="checkbox",
        options=[{"label": "AI", "value": "ai"}, {"label": "Cloud", "value": "cloud"}],
    )
    contact = _contact(email="ana@example.com", interests="ai;cloud")
    url = reverse("crm:contact_edit", args=[contact.pk])
    html = admin_client.get(url).content.decode()
    assert html.count("checked") == 2
    detail = admin_client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    assert "AI, Cloud" in detail
    # Saving an unrelated change keeps the multi-select value.
    admin_client.post(
        url, {"email": "ana@example.com", "firstname": "Ana", "interests": ["ai", "cloud"]}
    )
    contact.refresh_from_db()
    assert (contact.first_name, contact.properties["interests"]) == ("Ana", "ai;cloud")
    admin_client.post(url, {"email": "ana@example.com", "firstname": "Ana", "interests": ["cloud"]})
    contact.refresh_from_db()
    assert contact.properties["interests"] == "cloud"
