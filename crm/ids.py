"""Ids typed by people or sent by clients."""


def is_id_text(text: str) -> bool:
    """ASCII digits, no more than a database id has: str.isdigit() also takes "²" (which int()
    refuses) and numbers of any length (which the database refuses)."""
    return text.isascii() and text.isdigit() and len(text) <= 18
