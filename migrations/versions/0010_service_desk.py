"""the service desk (issue 15): the service advisor role (服务顾问) and a redemption catalog (兑换目录)

- staff.role may be 'service'. PostgreSQL replaces the check constraint; SQLite cannot alter a
  constraint and a batch rebuild of `staff` would drop a table most others reference (see 0007),
  so its CREATE TABLE text is edited in place (writable_schema), the schema version bumped.
- catalog_items: code, Chinese name, price in points (> 0), optional stock (>= 0), active flag,
  optional store (NULL: every store).
- points_redemptions: catalog_item_id (NULL on rows redeemed as free text before this) and
  quantity (1 on those rows). Columns are added, never rebuilt.

Revision ID: 0010_service_desk
Revises: 0010p_scale
Create Date: 2026-11-30 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_service_desk'
down_revision = '0010p_scale'
branch_labels = None
depends_on = None

OLD = "'consultant', 'manager', 'agent', 'finance', 'admin'"
NEW = "'consultant', 'manager', 'agent', 'finance', 'service', 'admin'"


def _role_check(old: str, new: str) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        version = conn.execute(sa.text("PRAGMA schema_version")).scalar()
        conn.execute(sa.text("PRAGMA writable_schema=ON"))
        conn.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                             "WHERE type = 'table' AND name = 'staff'"), {"old": f"({old})", "new": f"({new})"})
        conn.execute(sa.text(f"PRAGMA schema_version={int(version) + 1}"))
        conn.execute(sa.text("PRAGMA writable_schema=OFF"))
        return
    op.drop_constraint(op.f('ck_staff_role_known'), 'staff', type_='check')
    op.create_check_constraint(op.f('ck_staff_role_known'), 'staff', f"role IN ({new})")


def upgrade():
    _role_check(OLD, NEW)
    op.create_table(
        'catalog_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name_zh', sa.String(length=120), nullable=False),
        sa.Column('price', sa.Integer(), nullable=False),
        sa.Column('stock', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('price > 0', name=op.f('ck_catalog_items_price_positive')),
        sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_catalog_items_stock_not_negative')),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_catalog_items_store_id_stores')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_items')),
        sa.UniqueConstraint('code', name=op.f('uq_catalog_items_code')),
    )
    op.create_index(op.f('ix_catalog_items_store_id'), 'catalog_items', ['store_id'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # plain ADD COLUMN: a batch rebuild would drop a table points_lot_uses references
        op.execute(sa.text("ALTER TABLE points_redemptions ADD COLUMN catalog_item_id INTEGER "
                           "CONSTRAINT fk_points_redemptions_catalog_item_id_catalog_items "
                           "REFERENCES catalog_items (id)"))
        op.execute(sa.text("ALTER TABLE points_redemptions ADD COLUMN quantity INTEGER DEFAULT '1' NOT NULL "
                           "CONSTRAINT ck_points_redemptions_quantity_positive CHECK (quantity > 0)"))
    else:
        op.add_column('points_redemptions', sa.Column('catalog_item_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_points_redemptions_catalog_item_id_catalog_items'), 'points_redemptions',
                              'catalog_items', ['catalog_item_id'], ['id'])
        op.add_column('points_redemptions', sa.Column('quantity', sa.Integer(), server_default='1', nullable=False))
        op.create_check_constraint(op.f('ck_points_redemptions_quantity_positive'), 'points_redemptions',
                                   'quantity > 0')
    op.create_index(op.f('ix_points_redemptions_catalog_item_id'), 'points_redemptions', ['catalog_item_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_points_redemptions_catalog_item_id'), table_name='points_redemptions')
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f('ck_points_redemptions_quantity_positive'), 'points_redemptions', type_='check')
        op.drop_constraint(op.f('fk_points_redemptions_catalog_item_id_catalog_items'), 'points_redemptions',
                           type_='foreignkey')
    # SQLite >= 3.35 drops a column in place (not one a constraint names: those stay there, unused)
    op.drop_column('points_redemptions', 'quantity')
    op.drop_column('points_redemptions', 'catalog_item_id')
    op.drop_index(op.f('ix_catalog_items_store_id'), table_name='catalog_items')
    op.drop_table('catalog_items')
    # PostgreSQL refuses this while a service advisor exists: deactivate and re-role them first
    _role_check(NEW, OLD)
