"""Scenario records → the shapes Zoom answers (field names from Zoom's OpenAPI documents)."""

from __future__ import annotations

import hashlib
from typing import Any

from .store import JOIN_HOST, Account, Webinar, derive_id
from .timeutil import format_time, parse_time

ROLE_IDS = {"owner": "0", "admin": "1", "member": "2"}
FILE_KINDS = {
    # file_type → (file_extension, recording_type)
    "MP4": ("MP4", "shared_screen_with_speaker_view"),
    "M4A": ("M4A", "audio_only"),
    "TRANSCRIPT": ("VTT", "audio_transcript"),
    "CHAT": ("TXT", "chat_file"),
    "CC": ("VTT", "closed_caption"),
}


def display_name(user: dict[str, Any]) -> str:
    return f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()


def user_item(account: Account, user: dict[str, Any]) -> dict[str, Any]:
    pmi = 1_000_000_000 + int(hashlib.sha256(user["id"].encode()).hexdigest()[:8], 16) % 8_999_999
    return {
        "id": user["id"],
        "first_name": user["first_name"],
        "last_name": user["last_name"],
        "display_name": display_name(user),
        "email": user["email"],
        "type": user["type"],
        "pmi": pmi,
        "timezone": user.get("timezone", "UTC"),
        "verified": 1,
        "dept": user.get("dept", ""),
        "user_created_at": user.get("created_at", "2024-01-01T00:00:00Z"),
        "last_login_time": user.get("last_login_time", "2025-01-01T00:00:00Z"),
        "language": "en-US",
        "status": user["status"],
        "role_id": ROLE_IDS.get(user["role"], "2"),
    }


def user_detail(account: Account, user: dict[str, Any]) -> dict[str, Any]:
    item = user_item(account, user)
    item.update(
        {
            "role_name": user["role"].capitalize(),
            "use_pmi": False,
            "account_id": account.id,
            "created_at": item["user_created_at"],
        }
    )
    return item


def occurrences(webinar: Webinar) -> list[dict[str, Any]]:
    return [
        {
            "occurrence_id": o["occurrence_id"],
            "start_time": o["start_time"],
            "duration": o["duration"],
            "status": o.get("status", "available"),
        }
        for o in webinar.data["occurrences"]
    ]


def next_start(webinar: Webinar, now: float) -> str:
    """For recurring webinars lists show the next occurrence still to come."""
    for occurrence in webinar.available_occurrences():
        if parse_time(occurrence["start_time"]) + 60 * occurrence["duration"] > now:
            return occurrence["start_time"]
    return webinar.data["start_time"]


def webinar_item(webinar: Webinar, now: float) -> dict[str, Any]:
    data = webinar.data
    return {
        "uuid": webinar.current_uuid(),
        "id": webinar.id,
        "host_id": data.get("host_id", ""),
        "topic": data["topic"],
        "type": data["type"],
        "start_time": next_start(webinar, now),
        "duration": data["duration"],
        "timezone": data["timezone"],
        "agenda": data.get("agenda", "")[:250],  # lists truncate the agenda (spec)
        "created_at": webinar.created_at(),
        "join_url": webinar.join_url(),
        "is_simulive": False,
    }


def webinar_detail(webinar: Webinar) -> dict[str, Any]:
    data = webinar.data
    host = webinar.account.users_by_id.get(data.get("host_id", ""))
    out: dict[str, Any] = {
        "uuid": webinar.current_uuid(),
        "id": webinar.id,
        "host_id": data.get("host_id", ""),
        "host_email": host["email"] if host else "",
        "topic": data["topic"],
        "type": data["type"],
        "start_time": data["start_time"],
        "duration": data["duration"],
        "timezone": data["timezone"],
        "agenda": data.get("agenda", ""),
        "created_at": webinar.created_at(),
        "join_url": webinar.join_url(),
        "start_url": f"{JOIN_HOST}/s/{webinar.id}",
    }
    if webinar.registration_enabled():
        # "only returned for webinars that have enabled registration" (spec)
        out["registration_url"] = f"{JOIN_HOST}/webinar/register/{derive_id('reg', webinar.id)}"
    if data["type"] == 9:
        out["occurrences"] = occurrences(webinar)
        out["recurrence"] = {"type": 2, "repeat_interval": 1, "end_times": len(data["occurrences"])}
    out["settings"] = {
        "approval_type": data["approval_type"],
        "registration_type": 1,
        "registrants_restrict_number": 0,
        "registrants_confirmation_email": True,
        "email_in_attendee_report": True,
        "meeting_authentication": False,
        "auto_recording": "cloud" if data["recordings"] else "none",
        "practice_session": False,
    }
    out["is_simulive"] = False
    # No classic-API field marks Zoom Events webinars; at best they show "other" (zoom-api.md 3.14).
    out["creation_source"] = "other" if data["zoom_events"] else "web_portal"
    return out


def participant_rows(
    sessions: list[tuple[int, dict[str, Any]]], *, report: bool, include_registrant_id: bool
) -> list[dict[str, Any]]:
    """One row per join of `sessions` (from `Webinar.closed_sessions`, a page of them), ``duration``
    in seconds."""
    rows = []
    for index, p in sessions:
        join, leave = p["join_time"], p["leave_time"]
        row: dict[str, Any] = {"id": p.get("participant_user_id", "")}
        if report:
            row["participant_user_id"] = p.get("participant_user_id", "")
        row["user_id"] = str(16778240 + 1024 * index)
        row["name"] = p.get("name", "")
        row["user_email"] = p.get("user_email", "")
        if include_registrant_id:
            row["registrant_id"] = p.get("registrant_id", "")
        row["join_time"] = join
        row["leave_time"] = leave
        row["duration"] = int(parse_time(leave) - parse_time(join))
        row["failover"] = False
        row["status"] = "in_meeting"
        if report:
            row["customer_key"] = ""
            row["bo_mtg_id"] = ""
        else:
            row["internal_user"] = False
        rows.append(row)
    return rows


def participant_minutes(instance: dict[str, Any]) -> int:
    total = 0.0
    for p in instance["participants"]:
        if p.get("leave_time") is not None:
            total += parse_time(p["leave_time"]) - parse_time(p["join_time"])
    return int(total // 60)


def unique_participants(instance: dict[str, Any]) -> int:
    keys = {
        p.get("registrant_id") or p.get("user_email") or p.get("participant_user_id") or p["name"]
        for p in instance["participants"]
    }
    return len(keys)


def instance_minutes(instance: dict[str, Any]) -> int:
    return int((parse_time(instance["end_time"]) - parse_time(instance["start_time"])) // 60)


def recording_files(
    webinar: Webinar, instance: dict[str, Any] | None, recording: dict[str, Any], base_url: str
) -> list[dict[str, Any]]:
    start = instance["start_time"] if instance else webinar.data["start_time"]
    end = (instance or {}).get("end_time") or format_time(
        parse_time(start) + 60 * webinar.data["duration"]
    )
    files = []
    for f in recording.get("files", []):
        file_type = f["file_type"]
        extension, recording_type = FILE_KINDS.get(file_type, ("MP4", "shared_screen"))
        file_id = f.get("id") or derive_id("file", recording["uuid"], file_type, length=32)
        files.append(
            {
                "id": file_id,
                "meeting_id": recording["uuid"],
                "recording_start": start,
                "recording_end": end,
                "file_type": file_type,
                "file_extension": extension,
                "file_size": f.get("file_size", 1000 + len(file_id) * 977),
                "recording_type": recording_type,
                "status": "completed",
                "play_url": f"{base_url}/rec/play/{file_id}",
                "download_url": f"{base_url}/rec/download/{file_id}",
            }
        )
    return files


def recording_object(
    webinar: Webinar, instance: dict[str, Any] | None, recording: dict[str, Any], base_url: str
) -> dict[str, Any]:
    files = recording_files(webinar, instance, recording, base_url)
    data = webinar.data
    return {
        "uuid": recording["uuid"],
        "id": webinar.id,
        "account_id": webinar.account.id,
        "host_id": data.get("host_id", ""),
        "topic": data["topic"],
        "type": str(data["type"]),  # a string enum in recordings (spec)
        "start_time": instance["start_time"] if instance else data["start_time"],
        "duration": instance_minutes(instance) if instance and instance["end_time"] else 0,
        "total_size": sum(f["file_size"] for f in files),
        "recording_count": len(files),
        "share_url": f"{base_url}/rec/share/{derive_id('share', recording['uuid'])}",
        "recording_files": files,
    }


def webhook_webinar(webinar: Webinar, uuid: str, *, string_id: bool = False) -> dict[str, Any]:
    """The webinar part of webhook objects; participant events carry ``id`` as a string (spec)."""
    data = webinar.data
    out: dict[str, Any] = {
        "uuid": uuid,
        "id": str(webinar.id) if string_id else webinar.id,
        "host_id": data.get("host_id", ""),
        "topic": data["topic"],
        "type": data["type"],
        "start_time": data["start_time"],
        "duration": data["duration"],
        "timezone": data["timezone"],
    }
    if data["type"] == 9:
        out["occurrences"] = [
            {"occurrence_id": o["occurrence_id"], "start_time": o["start_time"]}
            for o in webinar.available_occurrences()
        ]
    return out
