"""comments: discussions on runs, dataset versions and model versions

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('comments',
    sa.Column('comment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('target_kind', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.String(length=300), nullable=False),
    sa.Column('reply_to', sa.BigInteger(), nullable=True),
    sa.Column('author', sa.String(length=256), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_time', sa.BigInteger(), nullable=False),
    sa.Column('updated_time', sa.BigInteger(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('comment_id', name=op.f('pk_comments')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_target_kind_target_id_comment_id'), ['target_kind', 'target_id', 'comment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comments_reply_to'), ['reply_to'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comments_reply_to'))
        batch_op.drop_index(batch_op.f('ix_comments_target_kind_target_id_comment_id'))

    op.drop_table('comments')
