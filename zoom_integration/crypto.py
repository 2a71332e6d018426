"""Kept for the migrations that name `zoom_integration.crypto.EncryptedTextField`: the field and
its helpers live in `crm.crypto`, where every app can use them (workflows' webhook secrets)."""

from crm.crypto import EncryptedTextField, decrypt, encrypt, fernet

__all__ = ["EncryptedTextField", "decrypt", "encrypt", "fernet"]
