"""Case store for the handoff to a human référent (issue 4): pure Python, no Rasa.

- model.py    Case, CaseDraft, ContactPlan, priority_for, references
- contact.py  phone (French and overseas, to E.164) and e-mail validation
- crypto.py   AES-GCM key ring, key file, conversation_id (HMAC)
- schema.py   tables; migrations/ holds the Alembic revisions (migrate.py applies them)
- store.py    CaseStore: create (idempotent), queue, withdraw, notes, purge, events
- outbox.py   Outbox: keeps requests encrypted on disk while the database is down
"""
