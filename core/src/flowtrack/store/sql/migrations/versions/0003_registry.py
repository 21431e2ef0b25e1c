"""registry: registered models, versions, aliases, tags, lineage and the audit trail

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registered_models',
    sa.Column('model_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('description', sa.String(length=5000), nullable=True),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_updated_time', sa.BigInteger(), nullable=False),
    sa.Column('last_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('model_id', name=op.f('pk_registered_models')),
    sa.UniqueConstraint('name', name=op.f('uq_registered_models_name')),
    sqlite_autoincrement=True
    )
    op.create_table('registry_events',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.String(length=256), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_registry_events'))
    )
    with op.batch_alter_table('registry_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_events_model_id_event_id'), ['model_id', 'event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_events_name_event_id'), ['name', 'event_id'], unique=False)

    op.create_table('model_versions',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=2000), nullable=False),
    sa.Column('storage_location', sa.String(length=2000), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.String(length=500), nullable=True),
    sa.Column('current_stage', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=5000), nullable=True),
    sa.Column('user_id', sa.String(length=256), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_updated_time', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.model_id'], name=op.f('fk_model_versions_model_id_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'version', name=op.f('pk_model_versions'))
    )
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_versions_model_id_current_stage'), ['model_id', 'current_stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_run_id'), ['run_id'], unique=False)

    op.create_table('registered_model_tags',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=8000), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.model_id'], name=op.f('fk_registered_model_tags_model_id_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', name=op.f('pk_registered_model_tags'))
    )
    op.create_table('model_version_datasets',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('dataset_version_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_versions.version_id'], name=op.f('fk_model_version_datasets_dataset_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id', 'version'], ['model_versions.model_id', 'model_versions.version'], name=op.f('fk_model_version_datasets_model_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'version', 'dataset_version_id', name=op.f('pk_model_version_datasets'))
    )
    with op.batch_alter_table('model_version_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_version_datasets_dataset_version_id'), ['dataset_version_id'], unique=False)

    op.create_table('model_version_tags',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=8000), nullable=False),
    sa.ForeignKeyConstraint(['model_id', 'version'], ['model_versions.model_id', 'model_versions.version'], name=op.f('fk_model_version_tags_model_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'version', 'key', name=op.f('pk_model_version_tags'))
    )
    op.create_table('registered_model_aliases',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model_id', 'version'], ['model_versions.model_id', 'model_versions.version'], name=op.f('fk_registered_model_aliases_model_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'alias', name=op.f('pk_registered_model_aliases'))
    )


def downgrade() -> None:
    op.drop_table('registered_model_aliases')
    op.drop_table('model_version_tags')
    with op.batch_alter_table('model_version_datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_version_datasets_dataset_version_id'))

    op.drop_table('model_version_datasets')
    op.drop_table('registered_model_tags')
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_versions_run_id'))
        batch_op.drop_index(batch_op.f('ix_model_versions_model_id_current_stage'))

    op.drop_table('model_versions')
    with op.batch_alter_table('registry_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_events_name_event_id'))
        batch_op.drop_index(batch_op.f('ix_registry_events_model_id_event_id'))

    op.drop_table('registry_events')
    op.drop_table('registered_models')
