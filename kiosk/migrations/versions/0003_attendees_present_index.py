"""the index for counting who is here covers "present" (checked in, not erased)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:10:00
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_attendees_event_checked_in', table_name='attendees')
    op.create_index('ix_attendees_event_present', 'attendees', ['event_id', 'checked_in_at', 'erased_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_attendees_event_present', table_name='attendees')
    op.create_index('ix_attendees_event_checked_in', 'attendees', ['event_id', 'checked_in_at'], unique=False)
