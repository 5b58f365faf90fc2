"""Review finding of issue 15, checked across the forms: a value out of range is a field error
(WTForms' ValidationError), and a too-large value says so rather than 'must be greater than 0'."""
from __future__ import annotations

import pytest

from tests.web import browser_as, post_form, text

POLICY = {"reward_unit": "CNY", "reward_amount": "800", "consultant_penalty": "200.50",
          "two_approver_threshold": "3000.00", "registration_window_days": "60", "velocity_limit": "4",
          "velocity_window_days": "20", "clawback_window_days": "45", "callback_delay_min_hours": "12",
          "callback_delay_max_hours": "48", "calling_hours_start": "08:30", "calling_hours_end": "21:00",
          "callback_attempts": "4", "fen_per_point": "5", "points_expiry_months": "12",
          "insider_pass_limit_bp": "2.5"}


@pytest.mark.parametrize("unit, amount, message", [
    ("CNY", "0", "必须大于 0"),
    ("CNY", "10000000.01", "金额不能超过 ¥10,000,000.00。"),
    ("PTS", "100000001", "积分不能超过 100,000,000。"),
])
def test_a_policy_reward_out_of_range_says_which_end(app, world, unit, amount, message):
    admin = browser_as(app, "admin")
    resp = post_form(admin, f"/admin/stores/{world.store.id}/policy",
                     {**POLICY, "reward_unit": unit, "reward_amount": amount})
    html = text(resp)
    assert resp.status_code in (400, 422) and 'data-test="error-reward_amount"' in html
    assert message in html.split('data-test="error-reward_amount"')[1][:200]
