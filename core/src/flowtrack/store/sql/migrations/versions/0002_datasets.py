"""datasets: dataset versions and the runs that read or wrote them (lineage)

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dataset_versions',
    sa.Column('version_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('uri', sa.String(length=2000), nullable=False),
    sa.Column('digest', sa.String(length=200), nullable=False),
    sa.Column('algorithm', sa.String(length=32), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('file_count', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('created_by_run_id', sa.String(length=32), nullable=True),
    sa.Column('created_time', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_dataset_versions')),
    sa.UniqueConstraint('uri', 'digest', name=op.f('uq_dataset_versions_uri_digest'))
    )
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_versions_digest'), ['digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_versions_name'), ['name'], unique=False)

    op.create_table('run_datasets',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('version_id', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_run_datasets_run_id_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.version_id'], name=op.f('fk_run_datasets_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'version_id', 'direction', name=op.f('pk_run_datasets'))
    )
    with op.batch_alter_table('run_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_datasets_version_id'), ['version_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('run_datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_datasets_version_id'))

    op.drop_table('run_datasets')
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_versions_name'))
        batch_op.drop_index(batch_op.f('ix_dataset_versions_digest'))

    op.drop_table('dataset_versions')
