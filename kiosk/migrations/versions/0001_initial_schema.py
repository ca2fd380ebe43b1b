"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 03:39:47.656097
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('venue', sa.String(length=200), nullable=False),
    sa.Column('public_url', sa.String(length=300), nullable=True),
    sa.Column('badge_layout', sa.String(length=32), nullable=False),
    sa.Column('badge_style', sa.JSON(), nullable=False),
    sa.Column('round_minutes', sa.Integer(), nullable=False),
    sa.Column('meeting_points', sa.JSON(), nullable=False),
    sa.Column('match_settings', sa.JSON(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('slug', name=op.f('uq_events_slug'))
    )
    op.create_table('idempotent_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=120), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_responses')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotent_responses_scope_key'))
    )
    op.create_table('organizers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizers')),
    sa.UniqueConstraint('email', name=op.f('uq_organizers_email'))
    )
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('kiosk', 'screen', 'scanner', 'printer', name='devicekind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('pairing_code', sa.String(length=12), nullable=True),
    sa.Column('pairing_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('printers', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_devices_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('pairing_code', name=op.f('uq_devices_pairing_code')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_devices_token_hash'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_event_id'), ['event_id'], unique=False)

    op.create_table('event_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('room', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_log_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_log')),
    sa.UniqueConstraint('event_id', 'seq', name=op.f('uq_event_log_event_id_seq'))
    )
    op.create_table('rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pairs', sa.JSON(), nullable=False),
    sa.Column('meeting_points', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_rounds_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rounds')),
    sa.UniqueConstraint('event_id', 'number', name=op.f('uq_rounds_event_id_number'))
    )
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rounds_event_id'), ['event_id'], unique=False)

    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_tags_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('event_id', 'label', name=op.f('uq_tags_event_id_label'))
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tags_event_id'), ['event_id'], unique=False)

    op.create_table('attendees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('search_name', sa.String(length=210), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('pronouns', sa.String(length=40), nullable=False),
    sa.Column('ticket_ref', sa.String(length=100), nullable=True),
    sa.Column('ticket_type', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('consent_screen', sa.Boolean(), nullable=False),
    sa.Column('consent_share', sa.JSON(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by', sa.Integer(), nullable=True),
    sa.Column('badge_token', sa.String(length=32), nullable=False),
    sa.Column('personal_token_hash', sa.String(length=64), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checked_in_by'], ['devices.id'], name=op.f('fk_attendees_checked_in_by_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_attendees_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendees')),
    sa.UniqueConstraint('badge_token', name=op.f('uq_attendees_badge_token')),
    sa.UniqueConstraint('event_id', 'ticket_ref', name=op.f('uq_attendees_event_id_ticket_ref')),
    sa.UniqueConstraint('personal_token_hash', name=op.f('uq_attendees_personal_token_hash'))
    )
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.create_index('ix_attendees_event_email', ['event_id', 'email'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendees_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_attendees_event_search', ['event_id', 'search_name'], unique=False)

    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('offer', 'need', name='cardkind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.Column('embedding_model', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_cards_attendee_id_attendees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('attendee_id', 'kind', 'position', name=op.f('uq_cards_attendee_id_kind_position'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_attendee_id'), ['attendee_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('from_id', sa.Integer(), nullable=False),
    sa.Column('to_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('mutual', sa.Boolean(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=True),
    sa.CheckConstraint('from_id <> to_id', name=op.f('ck_contacts_not_self')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_contacts_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_id'], ['attendees.id'], name=op.f('fk_contacts_from_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_id'], ['attendees.id'], name=op.f('fk_contacts_to_id_attendees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('event_id', 'from_id', 'to_id', name=op.f('uq_contacts_event_id_from_id_to_id'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_contacts_to', ['to_id'], unique=False)

    op.create_table('matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('a_id', sa.Integer(), nullable=False),
    sa.Column('b_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('starter', sa.Text(), nullable=False),
    sa.Column('source', sa.Enum('live', 'round', name='matchsource', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('suggested', 'accepted', 'declined', 'met', name='matchstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('a_id < b_id', name=op.f('ck_matches_ordered_pair')),
    sa.ForeignKeyConstraint(['a_id'], ['attendees.id'], name=op.f('fk_matches_a_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['b_id'], ['attendees.id'], name=op.f('fk_matches_b_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_matches_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_matches_round_id_rounds'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matches')),
    sa.UniqueConstraint('event_id', 'a_id', 'b_id', name=op.f('uq_matches_event_id_a_id_b_id'))
    )
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index('ix_matches_b', ['b_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_event_id'), ['event_id'], unique=False)

    op.create_table('print_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('printer', sa.String(length=127), nullable=True),
    sa.Column('cups_job', sa.String(length=140), nullable=True),
    sa.Column('status', sa.Enum('queued', 'sent', 'done', 'failed', name='printstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_print_jobs_attendee_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_print_jobs_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_jobs'))
    )
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_jobs_attendee_id'), ['attendee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_jobs_event_id'), ['event_id'], unique=False)

    op.create_table('revoked_badge_tokens',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_revoked_badge_tokens_attendee_id_attendees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_revoked_badge_tokens'))
    )
    with op.batch_alter_table('revoked_badge_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revoked_badge_tokens_attendee_id'), ['attendee_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('revoked_badge_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revoked_badge_tokens_attendee_id'))

    op.drop_table('revoked_badge_tokens')
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_jobs_event_id'))
        batch_op.drop_index(batch_op.f('ix_print_jobs_attendee_id'))

    op.drop_table('print_jobs')
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matches_event_id'))
        batch_op.drop_index('ix_matches_b')

    op.drop_table('matches')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_to')
        batch_op.drop_index(batch_op.f('ix_contacts_event_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cards_attendee_id'))

    op.drop_table('cards')
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.drop_index('ix_attendees_event_search')
        batch_op.drop_index(batch_op.f('ix_attendees_event_id'))
        batch_op.drop_index('ix_attendees_event_email')

    op.drop_table('attendees')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tags_event_id'))

    op.drop_table('tags')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rounds_event_id'))

    op.drop_table('rounds')
    op.drop_table('event_log')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_event_id'))

    op.drop_table('devices')
    op.drop_table('organizers')
    op.drop_table('idempotent_responses')
    op.drop_table('events')
