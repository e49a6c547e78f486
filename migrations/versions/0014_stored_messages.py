"""server-written text kept as messages to render in the reader's language (issue #11, item 5)

Revision ID: 0014_stored_messages
Revises: 0013_notifications

Beside the English text of an order's history line and of a floor task's title, its
stored message ({"msgid", "params"}, server/i18n.py), rendered in the reader's
language when it is read. Rows from before keep only their English (NULL here) and
are shown as they are. An allocation's reason keeps its message inside its JSON
(`why_i18n`), so it needs no column.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_stored_messages'
down_revision = '0013_notifications'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch copy): order_events keeps its append-only triggers.
    op.add_column('order_events', sa.Column('message_i18n', sa.JSON(), nullable=True))
    op.add_column('tasks', sa.Column('title_i18n', sa.JSON(), nullable=True))


def downgrade():
    op.drop_column('tasks', 'title_i18n')
    op.drop_column('order_events', 'message_i18n')
