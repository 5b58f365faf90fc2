"""Referral-reward verification and loyalty ledger service (老客户推荐奖励核实与积分账本)."""
