"""attendee summaries by mail: one row per attendee and event, so a run never sends anyone's summary twice

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_mailings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'failed', name='mailstatus', native_enum=False,
                                    create_constraint=True, length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('message_id', sa.String(length=250), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'],
                                name=op.f('fk_report_mailings_attendee_id_attendees'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_report_mailings_event_id_events'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_mailings')),
        sa.UniqueConstraint('event_id', 'attendee_id', name=op.f('uq_report_mailings_event_id_attendee_id')),
    )


def downgrade() -> None:
    op.drop_table('report_mailings')
