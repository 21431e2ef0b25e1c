"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('experiments',
    sa.Column('experiment_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('artifact_location', sa.String(length=2000), nullable=False),
    sa.Column('lifecycle_stage', sa.String(length=32), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('experiment_id', name=op.f('pk_experiments')),
    sa.UniqueConstraint('name', name=op.f('uq_experiments_name'))
    )
    op.create_table('journals',
    sa.Column('journal_id', sa.String(length=64), nullable=False),
    sa.Column('applied_seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_time', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('journal_id', name=op.f('pk_journals'))
    )
    op.create_table('experiment_tags',
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=8000), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], name=op.f('fk_experiment_tags_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experiment_id', 'key', name=op.f('pk_experiment_tags'))
    )
    op.create_table('runs',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('run_name', sa.String(length=250), nullable=False),
    sa.Column('parent_run_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('start_time', sa.BigInteger(), nullable=False),
    sa.Column('end_time', sa.BigInteger(), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=256), nullable=False),
    sa.Column('source_type', sa.String(length=20), nullable=False),
    sa.Column('source_ref', sa.Text(), nullable=False),
    sa.Column('artifact_uri', sa.String(length=2000), nullable=False),
    sa.Column('deleted_time', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], name=op.f('fk_runs_experiment_id_experiments')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_experiment_id_start_time'), ['experiment_id', 'start_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_parent_run_id'), ['parent_run_id'], unique=False)

    op.create_table('latest_metrics',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(precision=53), nullable=True),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_latest_metrics_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'key', name=op.f('pk_latest_metrics'))
    )
    with op.batch_alter_table('latest_metrics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_latest_metrics_key_value'), ['key', 'value'], unique=False)

    op.create_table('metric_blocks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('min_step', sa.BigInteger(), nullable=False),
    sa.Column('max_step', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_metric_blocks_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_blocks'))
    )
    with op.batch_alter_table('metric_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_blocks_run_id_key'), ['run_id', 'key'], unique=False)

    op.create_table('params',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=6000), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_params_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'key', name=op.f('pk_params'))
    )
    op.create_table('tags',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.String(length=8000), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_tags_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'key', name=op.f('pk_tags'))
    )


def downgrade() -> None:
    op.drop_table('tags')
    op.drop_table('params')
    with op.batch_alter_table('metric_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_blocks_run_id_key'))

    op.drop_table('metric_blocks')
    with op.batch_alter_table('latest_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_latest_metrics_key_value'))

    op.drop_table('latest_metrics')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_parent_run_id'))
        batch_op.drop_index(batch_op.f('ix_runs_experiment_id_start_time'))

    op.drop_table('runs')
    op.drop_table('experiment_tags')
    op.drop_table('journals')
    op.drop_table('experiments')
