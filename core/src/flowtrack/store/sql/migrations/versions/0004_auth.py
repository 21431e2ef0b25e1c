"""auth: users, API tokens and per-experiment and per-model permissions

Used by the server's --auth (flowtrack.server.auth); an embedded store leaves them empty.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('user_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('password_hash', sa.String(length=512), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    sqlite_autoincrement=True
    )
    op.create_table('api_tokens',
    sa.Column('token_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('expiry_time', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_api_tokens_user_id_name')),
    sqlite_autoincrement=True
    )
    op.create_table('experiment_permissions',
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('permission', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.experiment_id'], name=op.f('fk_experiment_permissions_experiment_id_experiments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_experiment_permissions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experiment_id', 'user_id', name=op.f('pk_experiment_permissions'))
    )
    with op.batch_alter_table('experiment_permissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experiment_permissions_user_id'), ['user_id'], unique=False)

    op.create_table('registered_model_permissions',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('permission', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.model_id'], name=op.f('fk_registered_model_permissions_model_id_registered_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_registered_model_permissions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'user_id', name=op.f('pk_registered_model_permissions'))
    )
    with op.batch_alter_table('registered_model_permissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registered_model_permissions_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('registered_model_permissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registered_model_permissions_user_id'))

    op.drop_table('registered_model_permissions')
    with op.batch_alter_table('experiment_permissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experiment_permissions_user_id'))

    op.drop_table('experiment_permissions')
    op.drop_table('api_tokens')
    op.drop_table('users')
