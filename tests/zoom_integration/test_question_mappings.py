"""Rule E2: question → property mappings (built-ins, connection defaults, webinar overrides,
both policies), applied by the pull sync over real HTTP, by webhooks and to past answers;
bad mappings and answers a property cannot hold change nothing."""

from functools import partial

import pytest

from crm.errors import ValidationFailed
from crm.models import Brand, Contact
from crm.properties import STANDARD_BY_NAME, clean_value
from marketing_events.models import RegistrationDetails
from marketing_events.plan import PropertyWrite
from zoom_integration.models import QuestionMapping, ZoomWebinar
from zoom_integration.registration.mappings import (
    AnswerWriter,
    MappingRule,
    PropertyTarget,
    answer_writes,
    effective_mappings,
)
from zoom_integration.registration.services import (
    mapping_apply_execute,
    mapping_apply_request,
    mappings_list,
    mappings_replace,
    property_create_from_question,
)
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)

from .test_sync_generated import run_sync

pytestmark = pytest.mark.django_db


def target(name, max_length):
    spec = STANDARD_BY_NAME[name]
    return PropertyTarget(name, spec.column, spec.read_only, max_length, partial(clean_value, spec))


TARGETS = {"company": target("company", 10), "jobtitle": target("jobtitle", 200)}
TARGETS["email"] = target("email", 254)


# -- pure rules ----------------------------------------------------------------------------------


def test_builtins_then_connection_defaults_then_webinar_overrides():  # rule E2
    rules = effective_mappings(
        [MappingRule("org", "jobtitle", "overwrite"), MappingRule("Team", "company")],
        [MappingRule("Team", "jobtitle"), MappingRule("job_title", "")],  # "" turns it off
    )
    assert rules["org"] == MappingRule("org", "jobtitle", "overwrite")
    assert rules["Team"] == MappingRule("Team", "jobtitle")
    assert "job_title" not in rules
    assert rules["city"] == MappingRule("city", "city", "fill_empty", builtin=True)


def test_answer_writes_follow_the_policy_and_refuse_what_does_not_fit():  # rule E2
    rules = effective_mappings([MappingRule("Role", "jobtitle", "overwrite")])
    writes, refused = answer_writes(
        "a@example.com",
        [("org", "Acme"), ("Role", "CTO"), ("unmapped", "x"), ("industry", "Retail")],
        rules,
        TARGETS,
    )
    assert [(w.property, w.value, w.overwrite, w.column) for w in writes] == [
        ("company", "Acme", False, "company"),
        ("jobtitle", "CTO", True, "job_title"),
    ]  # `industry` is a built-in whose property these targets lack: not used, not refused
    assert refused == []
    _writes, refused = answer_writes("a@example.com", [("org", "Far too long Inc")], rules, TARGETS)
    assert [(r.question, r.property) for r in refused] == [("org", "company")]
    assert "at most 10" in refused[0].reason


def test_one_writer_for_many_registrants_checks_each_answer_once_and_stays_bounded(
    monkeypatch,
):  # rule E2, as the sync plans a webinar's registrants
    rules = effective_mappings([MappingRule("Role", "jobtitle", "overwrite")])
    checked = []
    targets = {
        name: PropertyTarget(
            t.name,
            t.column,
            t.read_only,
            t.max_length,
            lambda raw, t=t: checked.append(raw) or t.clean(raw),
        )
        for name, t in TARGETS.items()
    }
    writer = AnswerWriter(rules, targets)
    for email in ("a@example.com", "b@example.com"):
        writes, refused = writer(
            email, [("org", "Acme"), ("Role", "CTO"), ("org", "Far too long Inc")]
        )
        assert writes == [
            PropertyWrite(email, "company", "Acme", False, "company"),
            PropertyWrite(email, "jobtitle", "CTO", True, "job_title"),
        ]
        # The same refusal for each registrant, its reason from the first check.
        assert [(r.email, r.question, "at most 10" in r.reason) for r in refused] == [
            (email, "org", True)
        ]
    assert sorted(checked) == ["Acme", "CTO", "Far too long Inc"]  # each checked once
    # The memo of checked answers is bounded: unique answers do not make it grow.
    monkeypatch.setattr(AnswerWriter, "MEMO", 3)
    bounded = AnswerWriter(rules, targets)
    for n in range(10):
        bounded("c@example.com", [("Role", f"Role {n}")])
    assert len(bounded._checked) <= 3
    assert bounded("c@example.com", [("Role", "Role 9")])[0][0].value == "Role 9"


# -- mappings as stored --------------------------------------------------------------------------


@pytest.fixture
def acme(db, zoom_sandbox, django_capture_on_commit_callbacks):
    from tests.zoom_integration.scenario import ACME, S2S

    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=Brand.objects.create(name="Acme", is_primary=True), account_id=ACME, **S2S
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection


@pytest.mark.parametrize(
    ("items", "named"),
    [
        ([{"question": "org", "property": "no_such_property"}], "no_such_property"),
        ([{"question": "org", "property": "zoom_webinar_registration_count"}], "read-only"),
        ([{"question": "org", "property": "email"}], "read-only"),
        ([{"question": "org", "property": "company", "policy": "sometimes"}], "'sometimes'"),
        ([{"question": "", "property": "company"}], "[0].question"),
        ([{"question": "org", "policy": "fill_empty"}], "[0].property"),  # found by the fuzzer
        ([{"question": "a\x00b", "property": "company"}], "[0].question"),  # found by the fuzzer
        ("not a list", "list"),
    ],
)
def test_a_bad_mapping_is_refused_naming_it_and_nothing_changes(acme, items, named):
    mappings_replace(
        connection=acme, webinar=None, items=[{"question": "Team", "property": "jobtitle"}]
    )
    before = list(QuestionMapping.objects.values_list("question", "property", "policy"))
    with pytest.raises(ValidationFailed) as caught:
        mappings_replace(connection=acme, webinar=None, items=items)
    assert named in caught.value.message + str(caught.value.errors)
    assert list(QuestionMapping.objects.values_list("question", "property", "policy")) == before


def test_connection_level_lists_builtins_and_webinar_level_only_overrides(acme):
    webinar = ZoomWebinar.objects.filter(connection=acme).first()
    mappings_replace(
        connection=acme,
        webinar=None,
        items=[{"question": "org", "property": "jobtitle", "policy": "overwrite"}],
    )
    mappings_replace(
        connection=acme, webinar=webinar, items=[{"question": "Team", "property": "company"}]
    )
    listed = mappings_list(acme)
    assert listed[0] == {
        "question": "org",
        "property": "jobtitle",
        "policy": "overwrite",
        "builtin": False,
    }
    assert {"question": "city", "property": "city", "policy": "fill_empty", "builtin": True} in (
        listed
    )
    assert not any(i["question"] == "org" and i["builtin"] for i in listed)
    assert mappings_list(acme, webinar) == [
        {"question": "Team", "property": "company", "policy": "fill_empty", "builtin": False}
    ]


def test_create_a_property_from_a_question(acme):
    definition = property_create_from_question("Company size?")
    assert (definition.name, definition.label, definition.type) == (
        "zoom_company_size",
        "Company size?",
        "string",
    )
    assert property_create_from_question("Company size?").pk == definition.pk  # reused
    mappings_replace(
        connection=acme,
        webinar=None,
        items=[{"question": "Company size?", "property": "zoom_company_size"}],
    )


def test_the_industry_property_of_the_builtin_default_exists():  # rule E2
    assert (
        STANDARD_BY_NAME["industry"].column is None and not STANDARD_BY_NAME["industry"].read_only
    )


# -- over HTTP: the sync applies them ------------------------------------------------------------


@pytest.fixture
def generated(zoom_sandbox, django_capture_on_commit_callbacks):
    zoom_sandbox.post(
        "/_sandbox/generate",
        json={"webinars": 6, "registrants": 30, "attendance": 0.5, "seed": 11, "answers": 1},
    ).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    state = zoom_sandbox.get("/_sandbox/state").json()
    account = state["accounts"][0]
    app = next(a for a in account["apps"] if a["type"] == "s2s")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=Brand.objects.create(name="B", is_primary=True),
            account_id=account["id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection, state


def latest_answers(state, field):
    """email → the value of `field` in each of the person's registrations (by create time)."""
    out = {}
    for webinar in state["accounts"][0]["webinars"]:
        if webinar.get("zoom_events"):
            continue
        for person in webinar["registrants"]:
            if person["status"] == "approved" and person.get(field):
                out.setdefault(person["email"].strip().lower(), []).append(
                    (person["create_time"], person[field])
                )
    return out


def test_sync_fills_empty_properties_by_default(generated):  # rule E2, fill_empty
    connection, state = generated
    Contact.objects.create(email="keep@example.com", job_title="Keeps hers")
    assert run_sync(connection).status == "succeeded"
    titles = latest_answers(state, "job_title")
    industries = latest_answers(state, "industry")
    assert len(titles) > 20
    for contact in Contact.objects.filter(email__in=titles):
        # fill_empty: the first registration applied wrote it; every value is one they gave
        assert contact.job_title in {v for _t, v in titles[contact.email]}
        assert contact.properties.get("industry") in {v for _t, v in industries[contact.email]}


def test_overwrite_and_a_webinar_override_with_the_past_answers_task(
    generated, django_capture_on_commit_callbacks
):  # rule E2, overwrite, apply to past answers
    connection, state = generated
    assert run_sync(connection).status == "succeeded"
    employees = latest_answers(state, "no_of_employees")
    definition = property_create_from_question("no_of_employees")
    # Not mapped at sync time: nobody has it.
    assert not Contact.objects.filter(properties__has_key=definition.name).exists()
    mappings_replace(
        connection=connection,
        webinar=None,
        items=[{"question": "no_of_employees", "property": definition.name, "policy": "overwrite"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = mapping_apply_request(connection=connection)
    run.refresh_from_db()
    assert (run.status, run.done) == ("succeeded", RegistrationDetails.objects.count())
    assert run.total == run.done and run.written > 20
    answered = {
        d.participation.contact.email: d.answers["no_of_employees"]
        for d in RegistrationDetails.objects.select_related("participation__contact")
    }
    for contact in Contact.objects.filter(email__in=employees):
        assert contact.properties[definition.name] in {v for _t, v in employees[contact.email]}
        assert contact.properties[definition.name] in answered.values()
    again = mapping_apply_execute(mapping_apply_request(connection=connection).pk)
    assert again.written == 0  # idempotent: nothing left to change

    # A webinar override beats the connection default for that webinar's answers only.
    webinar = ZoomWebinar.objects.filter(connection=connection, event__isnull=False).first()
    one = RegistrationDetails.objects.filter(event_id=webinar.event_id).first()
    mappings_replace(
        connection=connection,
        webinar=webinar,
        items=[{"question": "job_title", "property": "company", "policy": "overwrite"}],
    )
    mapping_apply_execute(mapping_apply_request(connection=connection, webinar=webinar).pk)
    contact = one.participation.contact
    contact.refresh_from_db()
    assert contact.company == one.answers["job_title"]


def test_an_answer_too_long_for_its_property_is_refused_and_counted(generated):
    connection, _state = generated
    # `zip` holds 32 characters; map a long answer to it.
    mappings_replace(
        connection=connection,
        webinar=None,
        items=[{"question": "no_of_employees", "property": "zip", "policy": "overwrite"}],
    )
    Contact.objects.all().delete()
    from crm.models import Contact as C

    C._meta.get_field("zip").max_length = 3  # "1-20" has 4 characters
    try:
        run = run_sync(connection)
    finally:
        C._meta.get_field("zip").max_length = 32
    assert run.status == "succeeded", run.errors
    assert run.counts["answers_refused"] > 0
    assert not Contact.objects.exclude(zip="").exists()  # nothing written for them
