"""pre-event links (cards filled at home, checked at the kiosk) and whether consents are the attendee's own choice

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Plain ALTER TABLE (nullable columns and an index), not batch mode: see 0004 for why a table copy of
# `attendees` must be avoided on SQLite.


def upgrade() -> None:
    op.add_column('attendees', sa.Column('consent_chosen_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('attendees', sa.Column('prepare_nonce', sa.String(length=32), nullable=True))
    op.add_column('attendees', sa.Column('prepare_token_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_attendees_prepare_token_hash', 'attendees', ['prepare_token_hash'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_attendees_prepare_token_hash', table_name='attendees')
    op.drop_column('attendees', 'prepare_token_hash')
    op.drop_column('attendees', 'prepare_nonce')
    op.drop_column('attendees', 'consent_chosen_at')
