"""badge scanning: a shareable website, contact notes with a follow-up flag, sponsors, their scanners and leads,
and a retention period per event

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Plain ALTER TABLE ADD COLUMN (see 0004: a batch copy of `attendees` would cascade-delete what points at it).
# devices.sponsor_id has no foreign key: SQLite can neither add one in place nor drop a column that has one, and a
# batch copy of `devices` would null every attendee's checked_in_by; removing a sponsor revokes its scanners.


def upgrade() -> None:
    op.add_column('attendees', sa.Column('website', sa.String(length=300), nullable=True))
    op.add_column('events', sa.Column('retention_days', sa.Integer(), server_default='60', nullable=False))
    op.add_column('contacts', sa.Column('follow_up', sa.Boolean(), server_default='0', nullable=False))
    op.add_column('contacts', sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'sponsors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('questions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_sponsors_event_id_events'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsors')),
        sa.UniqueConstraint('event_id', 'name', name=op.f('uq_sponsors_event_id_name')),
    )
    op.create_index(op.f('ix_sponsors_event_id'), 'sponsors', ['event_id'], unique=False)
    op.add_column('devices', sa.Column('sponsor_id', sa.Integer(), nullable=True))
    op.create_table(
        'leads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('sponsor_id', sa.Integer(), nullable=False),
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=True),
        sa.Column('rating', sa.Enum('hot', 'warm', 'cold', name='leadrating', native_enum=False,
                                    create_constraint=True, length=16), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_leads_attendee_id_attendees'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_leads_device_id_devices'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_leads_event_id_events'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], name=op.f('fk_leads_sponsor_id_sponsors'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_leads')),
        sa.UniqueConstraint('sponsor_id', 'attendee_id', name=op.f('uq_leads_sponsor_id_attendee_id')),
    )
    op.create_index(op.f('ix_leads_event_id'), 'leads', ['event_id'], unique=False)
    op.create_index(op.f('ix_leads_sponsor_id'), 'leads', ['sponsor_id'], unique=False)
    op.create_index('ix_leads_attendee', 'leads', ['attendee_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_leads_attendee', table_name='leads')
    op.drop_index(op.f('ix_leads_sponsor_id'), table_name='leads')
    op.drop_index(op.f('ix_leads_event_id'), table_name='leads')
    op.drop_table('leads')
    op.drop_column('devices', 'sponsor_id')
    op.drop_index(op.f('ix_sponsors_event_id'), table_name='sponsors')
    op.drop_table('sponsors')
    op.drop_column('contacts', 'updated_at')
    op.drop_column('contacts', 'follow_up')
    op.drop_column('events', 'retention_days')
    op.drop_column('attendees', 'website')
