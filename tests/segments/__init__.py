from django.db import connection

# Statements a members page adds on PostgreSQL inside a test's transaction: the walk's
# savepoint, its settings, its release and its settings set back (segments.compiler.walked_rows;
# outside a transaction, only its settings).
PAGE_WALK = 4 if connection.vendor == "postgresql" else 0
