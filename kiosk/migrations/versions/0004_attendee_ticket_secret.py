"""attendees keep their ticket shop's QR secret, so scanning their own ticket at a kiosk finds them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, not batch mode: adding a nullable column and an index needs no table copy on SQLite, and
# SQLite (3.35+) drops an unindexed column in place. A batch copy would drop and recreate `attendees`, and with
# foreign keys on, dropping it deletes every card, match and contact that points at it.


def upgrade() -> None:
    op.add_column('attendees', sa.Column('ticket_secret', sa.String(length=200), nullable=True))
    op.create_index('ix_attendees_event_ticket_secret', 'attendees', ['event_id', 'ticket_secret'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_attendees_event_ticket_secret', table_name='attendees')
    op.drop_column('attendees', 'ticket_secret')
