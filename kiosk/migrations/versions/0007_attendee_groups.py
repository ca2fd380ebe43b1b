"""who can meet whom: an event's groups of people (mentors, founders, sponsors...) and each attendee's group

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# attendees.group_id is a plain ADD COLUMN with no foreign key, as devices.sponsor_id in 0005: SQLite cannot add one
# in place, and a batch copy of `attendees` would cascade-delete what points at it. Removing a group clears the
# column in the same transaction (kiosk.events.service.set_groups). The rule lives in events.match_settings.


def upgrade() -> None:
    op.create_table(
        'attendee_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=60), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_attendee_groups_event_id_events'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attendee_groups')),
        sa.UniqueConstraint('event_id', 'label', name=op.f('uq_attendee_groups_event_id_label')),
    )
    op.create_index(op.f('ix_attendee_groups_event_id'), 'attendee_groups', ['event_id'], unique=False)
    op.add_column('attendees', sa.Column('group_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('attendees', 'group_id')  # in place on SQLite 3.35+ (unindexed), as in 0004
    op.drop_index(op.f('ix_attendee_groups_event_id'), table_name='attendee_groups')
    op.drop_table('attendee_groups')
