"""fact provenance (CB-10), verification strength (CB-11), fact changes on live referrals

* customer_fact_versions: every recorded value of a verification fact, with who recorded it, when
  and from which desk. The values on record before provenance existed become one version each,
  recorded at the customer's creation, by nobody, from the "import" desk.
* vehicles: who recorded each vehicle and from which desk (existing ones: "import").
* store_policies.insider_pass_limit_bp (default 500 = 5 %), callbacks.insider_pass_bp and
  confirm_required, verification_confirmations: a passing verdict on a plan too weak against the
  referral's own staff waits for a manager.
* referral_fact_changes: a fact or vehicle of a party recorded while the referral was live.

Revision ID: 0008s_fact_provenance
Revises: 0007_occupation
Create Date: 2026-11-30 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008s_fact_provenance'
down_revision = '0007_occupation'
branch_labels = None
depends_on = None

FACTS = ("employer", "home_district", "business", "occupation")
DESK_CHECK = "desk IN ('sales', 'service', 'import', 'admin')"


def _add_columns_sqlite() -> None:
    # plain ADD COLUMN: a batch rebuild of vehicles would drop a table that deliveries and referrals
    # reference (see 0007)
    columns = {row[1] for row in op.get_bind().execute(sa.text("PRAGMA table_info(vehicles)"))}
    if "recorded_by_id" not in columns:  # kept by a downgrade (see there)
        op.execute(sa.text("ALTER TABLE vehicles ADD COLUMN recorded_by_id INTEGER "
                           "CONSTRAINT fk_vehicles_recorded_by_id_staff REFERENCES staff (id)"))
    op.execute(sa.text("ALTER TABLE vehicles ADD COLUMN desk VARCHAR(8) DEFAULT 'import' NOT NULL "
                       f"CONSTRAINT ck_vehicles_desk_known CHECK ({DESK_CHECK})"))


def upgrade():
    op.create_table(
        'customer_fact_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('fact', sa.String(length=20), nullable=False),
        sa.Column('value', sa.String(length=120), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('desk', sa.String(length=8), nullable=False),
        sa.CheckConstraint("fact IN ('employer', 'home_district', 'business', 'occupation')",
                           name=op.f('ck_customer_fact_versions_fact_known')),
        sa.CheckConstraint(DESK_CHECK, name=op.f('ck_customer_fact_versions_desk_known')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE',
                                name=op.f('fk_customer_fact_versions_customer_id_customers')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'],
                                name=op.f('fk_customer_fact_versions_recorded_by_id_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_fact_versions')),
    )
    op.create_index('ix_customer_fact_versions_lookup', 'customer_fact_versions',
                    ['customer_id', 'fact', 'recorded_at'], unique=False)
    for fact in FACTS:
        op.execute(sa.text(
            f"INSERT INTO customer_fact_versions (customer_id, fact, value, recorded_by_id, recorded_at, desk) "
            f"SELECT id, '{fact}', {fact}, NULL, created_at, 'import' FROM customers WHERE {fact} IS NOT NULL"))

    if op.get_bind().dialect.name == "sqlite":
        _add_columns_sqlite()
    else:
        op.add_column('vehicles', sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_vehicles_recorded_by_id_staff'), 'vehicles', 'staff',
                              ['recorded_by_id'], ['id'])
        op.add_column('vehicles', sa.Column('desk', sa.String(length=8), server_default='import', nullable=False))
        op.create_check_constraint(op.f('ck_vehicles_desk_known'), 'vehicles', DESK_CHECK)

    op.add_column('store_policies', sa.Column('insider_pass_limit_bp', sa.Integer(), server_default='500',
                                              nullable=False))
    op.add_column('callbacks', sa.Column('insider_pass_bp', sa.Integer(), nullable=True))
    op.add_column('callbacks', sa.Column('confirm_required', sa.Boolean(), server_default=sa.false(),
                                         nullable=False))

    op.create_table(
        'verification_confirmations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('callback_id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('insider_pass_bp', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decision', sa.String(length=12), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("decision IS NULL OR decision IN ('verified', 'unverifiable')",
                           name=op.f('ck_verification_confirmations_decision_known')),
        sa.ForeignKeyConstraint(['callback_id'], ['callbacks.id'],
                                name=op.f('fk_verification_confirmations_callback_id_callbacks')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'],
                                name=op.f('fk_verification_confirmations_decided_by_id_staff')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'],
                                name=op.f('fk_verification_confirmations_referral_id_referrals')),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_verification_confirmations_store_id_stores')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_confirmations')),
        sa.UniqueConstraint('referral_id', name=op.f('uq_verification_confirmations_referral_id')),
    )
    op.create_index('ix_verification_confirmations_open', 'verification_confirmations',
                    ['store_id', 'decided_at'], unique=False)

    op.create_table(
        'referral_fact_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('party', sa.String(length=10), nullable=False),
        sa.Column('fact', sa.String(length=20), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.Column('desk', sa.String(length=8), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['changed_by_id'], ['staff.id'],
                                name=op.f('fk_referral_fact_changes_changed_by_id_staff')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_referral_fact_changes_customer_id_customers')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'],
                                name=op.f('fk_referral_fact_changes_referral_id_referrals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_fact_changes')),
    )
    op.create_index(op.f('ix_referral_fact_changes_referral_id'), 'referral_fact_changes', ['referral_id'])
    op.create_index(op.f('ix_referral_fact_changes_changed_by_id'), 'referral_fact_changes', ['changed_by_id'])


def downgrade():
    op.drop_table('referral_fact_changes')
    op.drop_table('verification_confirmations')
    # plain DROP COLUMN (SQLite >= 3.35), for the reason given in _add_columns_sqlite
    if op.get_bind().dialect.name == "sqlite":
        for table, column in (("callbacks", "confirm_required"), ("callbacks", "insider_pass_bp"),
                              ("store_policies", "insider_pass_limit_bp"), ("vehicles", "desk")):
            op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        # SQLite cannot drop a column a foreign key uses: vehicles.recorded_by_id stays (nullable,
        # ignored by the older code; the upgrade reuses it)
    else:
        op.drop_column('callbacks', 'confirm_required')
        op.drop_column('callbacks', 'insider_pass_bp')
        op.drop_column('store_policies', 'insider_pass_limit_bp')
        op.drop_constraint(op.f('ck_vehicles_desk_known'), 'vehicles', type_='check')
        op.drop_column('vehicles', 'desk')
        op.drop_constraint(op.f('fk_vehicles_recorded_by_id_staff'), 'vehicles', type_='foreignkey')
        op.drop_column('vehicles', 'recorded_by_id')
    op.drop_index('ix_customer_fact_versions_lookup', table_name='customer_fact_versions')
    op.drop_table('customer_fact_versions')
