"""What one answer grades as, and what a call's verdict can be."""
from __future__ import annotations

CORRECT, WRONG, UNDECIDED, UNKNOWN = "correct", "wrong", "undecided", "unknown"
VERIFIED, FRAUDULENT, INCONCLUSIVE = "verified", "fraudulent", "inconclusive"
