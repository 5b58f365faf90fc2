"""English messages the services raise in domain errors, listed so `pybabel extract` finds them.

Services pass plain English (they know nothing of requests or locales); app.py and the
page templates translate at render time with gettext(message). A msgid equal to the
exact English string is all that is needed, but `pybabel update` drops any msgid it
does not extract: hence this list. tests/integration/test_web_i18n.py fails when a
service raises a message that is missing here or has no Chinese translation.
"""


def N_(message: str) -> str:
    """Mark for extraction only; the text is translated where it is shown."""
    return message


DOMAIN_MESSAGES = (
    N_('A VIN has 17 letters and digits (no I, O or Q).'),
    N_('A customer cannot refer themselves.'),
    N_('A customer with this phone exists.'),
    N_('A store with this code exists.'),
    N_('A whole number of minor units (fen or points).'),
    N_('Already acknowledged.'),
    N_('Already registered.'),
    N_('Already used.'),
    N_('An account or its id.'),
    N_('An idempotency key of 1 to 160 characters.'),
    N_('At most 60 characters.'),
    N_('Authentication required.'),
    N_("Both accounts must be in the transfer's unit."),
    N_('Delivery already recorded.'),
    N_('Give a reason for the rejection.'),
    N_('Keys repeat inside the batch.'),
    N_('Must be CNY or PTS.'),
    N_('Must be after the start of calling hours.'),
    N_('Must be automatic or manual.'),
    N_('Must be greater than 0.'),
    N_('Must differ from the debit account.'),
    N_('Must not be less than the minimum.'),
    N_('Must not be negative.'),
    N_('No old customer has this phone number.'),
    N_('No such account.'),
    N_('No such customer.'),
    N_('No such pending transfer.'),
    N_('No such store.'),
    N_('Not a valid national ID number.'),
    N_('Not a valid phone number.'),
    N_('Not found.'),
    N_('Only a pending transfer can be posted or voided.'),
    N_('Only a registered, reviewed referral can be checked.'),
    N_('Only referrals under review can be reviewed.'),
    N_('Same person as the referrer.'),
    N_('Say what this transfer is for (LED-7).'),
    N_('Some fields are not valid.'),
    N_('Some keys of this batch were used before.'),
    N_('The account does not hold enough for this transfer.'),
    N_('The delivery cannot be in the future.'),
    N_('The duty manager has not acknowledged this referral yet.'),
    N_("The new customer's car has already been delivered: too late to register."),
    N_('The referral is not in a state that allows this.'),
    N_('The request cannot be carried out.'),
    N_('The request conflicts with the current state.'),
    N_('This endpoint declares no audience.'),
    N_('This idempotency key was used for a different transfer.'),
    N_('This new customer already has a live referral.'),
    N_('This pending transfer was already posted or voided.'),
    N_('This username is taken.'),
    N_('Unknown role.'),
    N_('Unknown time zone.'),
    N_('Use HH:MM, 00:00 to 23:59.'),
    N_('Use kind:id, kind one of store, customer, staff, system.'),
    N_('Wrong username or password.'),
    N_('You are not allowed to do this.'),
    N_('You cannot disable yourself.'),
    N_('You registered this referral; another manager must check the delivery.'),
    N_('You registered this referral; another manager must review it.'),
)
