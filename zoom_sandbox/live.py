"""Live-webinar simulation (``/_sandbox/live/{webinar_id}/join|leave|end``).

Each call mutates the state the way a running webinar would and sends the webhooks Zoom sends:
the first join opens an instance (``webinar.started``), joins and leaves add closed or open
participant rows (``webinar.participant_joined|left``, ``id`` as a string as in Zoom's schema),
and ``end`` closes open rows, ends the instance (``webinar.ended``) and adds a cloud recording
(``recording.completed``, then ``recording.transcript_completed``).
"""

from __future__ import annotations

from typing import Any

from . import render
from .errors import ScenarioError
from .sandbox import Sandbox
from .store import Webinar, derive_id, derive_uuid, normalized_email
from .timeutil import format_time


def _webinar(sandbox: Sandbox, webinar_id: str) -> Webinar:
    webinar = sandbox.store.webinar_anywhere(int(webinar_id)) if webinar_id.isdigit() else None
    if webinar is None:
        raise LookupError(f"Webinar does not exist: {webinar_id}.")
    return webinar


def _open_instance(sandbox: Sandbox, webinar: Webinar) -> dict[str, Any]:
    instance = webinar.live_instance()
    if instance is not None:
        return instance
    now = format_time(sandbox.now())
    uuid = derive_uuid("live", webinar.account.id, webinar.id, len(webinar.data["instances"]))
    instance = {"uuid": uuid, "start_time": now, "end_time": None, "participants": []}
    webinar.account.add_instance(webinar, instance)
    obj = render.webhook_webinar(webinar, uuid, string_id=True)
    obj["start_time"] = now
    sandbox.emit(webinar.account.id, "webinar.started", {"object": obj})
    return instance


def join(sandbox: Sandbox, webinar_id: str, body: dict[str, Any]) -> dict[str, Any]:
    webinar = _webinar(sandbox, webinar_id)
    name = str(body.get("name") or "").strip()
    if not name:
        raise ScenarioError("join needs a 'name'")
    registrant = None
    if body.get("registrant_id"):
        registrant = webinar.by_id.get(str(body["registrant_id"]))
        if registrant is None:
            raise ScenarioError(f"unknown registrant_id {body['registrant_id']}")
    elif body.get("email"):
        registrant = webinar.by_email.get(normalized_email(str(body["email"])))
    # Report rows carry Zoom's trimmed address; guests outside the account without a
    # registration show "" (e-mail display rules, zoom-api.md §8).
    email = str(body.get("email") or (registrant or {}).get("email") or "").strip()
    instance = _open_instance(sandbox, webinar)
    participant_user_id = None
    for row in instance["participants"]:  # a rejoin keeps the person's participant_user_id
        if (registrant and row.get("registrant_id") == registrant["id"]) or (
            email and row.get("user_email") == email
        ):
            participant_user_id = row["participant_user_id"]
    if participant_user_id is None:
        participant_user_id = derive_id("pu", instance["uuid"], len(instance["participants"]))
    now = format_time(sandbox.now())
    row = {
        "participant_user_id": participant_user_id,
        "registrant_id": registrant["id"] if registrant else "",
        "name": name,
        "user_email": email,
        "join_time": now,
        "leave_time": None,
    }
    instance["participants"].append(row)
    _participant_event(sandbox, webinar, instance, row, "webinar.participant_joined")
    return {"participant_user_id": participant_user_id, "uuid": instance["uuid"]}


def leave(sandbox: Sandbox, webinar_id: str, body: dict[str, Any]) -> dict[str, Any]:
    webinar = _webinar(sandbox, webinar_id)
    instance = webinar.live_instance()
    wanted = str(body.get("participant_user_id") or "")
    for row in (instance or {}).get("participants", []):
        if row["participant_user_id"] == wanted and row["leave_time"] is None:
            row["leave_time"] = format_time(sandbox.now())
            _participant_event(sandbox, webinar, instance, row, "webinar.participant_left")
            return {"participant_user_id": wanted, "leave_time": row["leave_time"]}
    raise LookupError(f"no participant {wanted!r} in a live instance of {webinar_id}")


def end(sandbox: Sandbox, webinar_id: str, base_url: str) -> dict[str, Any]:
    webinar = _webinar(sandbox, webinar_id)
    instance = webinar.live_instance()
    if instance is None:
        raise LookupError(f"webinar {webinar_id} is not live")
    now = format_time(sandbox.now())
    for row in instance["participants"]:
        if row["leave_time"] is None:
            row["leave_time"] = now
            _participant_event(
                sandbox, webinar, instance, row, "webinar.participant_left", ended=True
            )
    instance["end_time"] = now
    account_id = webinar.account.id
    obj = render.webhook_webinar(webinar, instance["uuid"])
    obj.update({"start_time": instance["start_time"], "end_time": now, "practice_session": False})
    sandbox.emit(account_id, "webinar.ended", {"object": obj})
    recording = {
        "uuid": instance["uuid"],
        "files": [{"file_type": "MP4"}, {"file_type": "TRANSCRIPT"}],
    }
    webinar.data["recordings"].append(recording)
    full = render.recording_object(webinar, instance, recording, base_url)
    host = webinar.account.users_by_id.get(webinar.data.get("host_id", "")) or {}
    token = derive_id("download", instance["uuid"], length=40)
    for event, wanted in (
        ("recording.completed", {"MP4"}),
        ("recording.transcript_completed", {"TRANSCRIPT"}),
    ):
        files = [f for f in full["recording_files"] if f["file_type"] in wanted]
        obj = {**full, "host_email": host.get("email", ""), "recording_files": files}
        obj["recording_count"] = len(files)
        obj["total_size"] = sum(f["file_size"] for f in files)
        sandbox.emit(account_id, event, {"object": obj, "download_token": token})
    return {"uuid": instance["uuid"], "participants": len(instance["participants"])}


def _participant_event(
    sandbox: Sandbox,
    webinar: Webinar,
    instance: dict[str, Any],
    row: dict[str, Any],
    event: str,
    *,
    ended: bool = False,
) -> None:
    webinar.sessions_changed(instance)
    obj = render.webhook_webinar(webinar, instance["uuid"], string_id=True)
    index = instance["participants"].index(row)
    participant: dict[str, Any] = {
        "user_id": str(16778240 + 1024 * index),
        "user_name": row["name"],
        "id": row["participant_user_id"],
        "email": row["user_email"],
        "registrant_id": row["registrant_id"],
        "participant_user_id": row["participant_user_id"],
        "participant_uuid": derive_id("pp", instance["uuid"], index),
        "customer_key": "",
    }
    if event.endswith("joined"):
        participant["join_time"] = row["join_time"]
    else:
        participant["leave_time"] = row["leave_time"]
        reason = "Host ended the webinar." if ended else "Participant left the webinar."
        participant["leave_reason"] = f"{row['name']} left the webinar.<br>Reason: {reason}"
    obj["participant"] = participant
    sandbox.emit(webinar.account.id, event, {"object": obj})
