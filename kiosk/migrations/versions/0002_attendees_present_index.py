"""an index for counting who is here

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:45:00
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_attendees_event_checked_in', 'attendees', ['event_id', 'checked_in_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attendees_event_checked_in', table_name='attendees')
