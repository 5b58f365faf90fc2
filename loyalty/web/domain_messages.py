"""English messages the services raise in domain errors that `pybabel extract` cannot see
where they are written, listed here so it finds them.

Services pass plain English (they know nothing of requests or locales); app.py and the
page templates translate at render time with gettext(message). A msgid equal to the
exact English string is all that is needed, but `pybabel update` drops any msgid it
does not extract. babel.cfg makes N_ and field_error's message keywords, so a message
written as N_("...") or field_error(field, "...") is extracted where it is written and
needs no line here; the error classes' own messages (Forbidden("..."), a class's
`message = "..."`, a `fields={...}` dict) are not keywords (babel would take their
code="..." strings for messages too) and are listed here.

A new domain message reaches the catalog so: wrap it in N_() where it is written (or
use field_error), else list it here; then append its msgid and Chinese text to
messages.po. tests/integration/test_web_i18n.py fails while a message a service raises
is not extracted or has no Chinese translation.
"""


def N_(message: str) -> str:
    """Mark for extraction only; the text is translated where it is shown."""
    return message


DOMAIN_MESSAGES = (
    # background payout exports (loyalty/payouts/export_jobs.py, issue 16)
    N_('The export is not finished yet.'),
    N_('The export failed; ask for it again.'),
    N_("The export's file has expired; ask for it again."),
    N_('You have exports waiting already; ask again when one is done.'),
    # direct payout exports (loyalty/payouts/export_direct.py, issue 16)
    N_('Too many rows for an Excel download: choose a shorter period, or export CSV in the background.'),
    # a required JSON body missing (app.py)
    N_('The request needs a JSON body.'),
    N_('A JSON body is required.'),
    # verification strength and fact provenance (CB-10, CB-11)
    N_('Between 1 and 10000 basis points (0.01 % to 100 %).'),
    N_('You registered this referral; the duty manager acknowledges it.'),
    N_('Shown once the referral is decided.'),
    N_('The referral has been decided already.'),
    N_('This verdict has been settled already.'),
    N_('You touched this referral; another manager must confirm it.'),
    N_('A customer cannot refer themselves.'),
    N_('A customer with this phone exists.'),
    N_('A question is answered twice.'),
    N_('A request with this Idempotency-Key is still being processed.'),
    N_('A statement must contain {value}, the stated fact.'),
    N_('A store with this code exists.'),
    N_('Already acknowledged.'),
    N_('Already registered.'),
    N_('Already used with another request body.'),
    N_('Already used.'),
    N_('An open question asks about employer, home district, business or occupation.'),
    N_('At least 8 characters.'),
    N_('At most 256 characters.'),
    N_('Authentication required.'),
    N_('Delivery already recorded.'),
    N_('Must be after the start of calling hours.'),
    N_('Must contain {who}, the person asked about.'),
    N_('Must not be less than the minimum.'),
    N_('Must not be negative.'),
    N_('JSON nested more than 32 levels deep.'),
    N_('No old customer has this phone number.'),
    N_('No such pending transfer.'),
    N_('Not a single character repeated, such as only spaces.'),
    N_('Not a valid date (YYYY-MM-DD).'),
    N_('Not enough points.'),
    N_('Not found.'),
    N_('Only a payout awaiting approval can be approved.'),
    N_('Only a payout not yet paid can be rejected.'),
    N_('Only a pending transfer can be posted or voided.'),
    N_('Only a referral awaiting its callback or verified can be unwound.'),
    N_('Only a registered, reviewed referral can be checked.'),
    N_('Only an approved payout can be marked paid.'),
    N_('Only finance approves, rejects and pays rewards.'),
    N_('Only referrals under review can be reviewed.'),
    N_('Only {who} and {value} may appear in braces.'),
    N_('Points already granted are not taken back by an unwind.'),
    N_('Remove the text-direction control characters.'),
    N_('Required, 1 to 160 characters.'),
    N_('Same person as the referrer.'),
    N_('Send an Idempotency-Key header (1 to 160 characters) with this request.'),
    N_('Some keys of this batch were used before.'),
    N_('The account does not hold enough for this transfer.'),
    N_('The duty manager has not acknowledged this referral yet.'),
    N_("The new customer's car has already been delivered: too late to register."),
    N_('The password must not contain the username.'),
    N_('The payout is not in a state that allows this.'),
    N_('The referral is not in a state that allows this.'),
    N_('The request cannot be carried out.'),
    N_('The store holds too few facts about these customers to ask 3 questions. Add their employer, home district, business or occupation first.'),
    N_('This password is one of the most common ones. Choose another.'),
    N_('This Idempotency-Key was used for a different request.'),
    N_('This answer has been reviewed already.'),
    N_('This callback is not held by you.'),
    N_("You recorded this call's answers already."),
    N_('This endpoint declares no audience.'),
    N_('This idempotency key was used for a different redemption.'),
    N_('This idempotency key was used for a different transfer.'),
    N_('This new customer already has a live referral.'),
    N_('This payout was clawed back or cancelled already.'),
    N_('This pending transfer was already posted or voided.'),
    N_('This username is taken.'),
    N_('Type visible characters, not only spaces or invisible ones.'),
    N_('You approved this payout already; a second approver must be someone else.'),
    N_('You are not allowed to do this.'),
    N_('You registered or checked this referral; another manager must review it.'),
    N_('You registered or checked this referral; another person in finance must decide it.'),
    N_('You registered this referral; another manager must check the delivery.'),
    N_('You registered this referral; another manager must review it.'),
    N_('Your hold on this callback expired; claim it again.'),
    N_("Write down what the customer said: the correction, or \"don't know\" if they gave none."),
    # the service desk and the redemption catalog (issue 15)
    N_('Already in the catalog.'), N_('More than the points the customer has available.'),
    N_('More than the stock left.'), N_('Not enough of this item in stock.'),
    N_('This code is already in the catalog.'),
)
