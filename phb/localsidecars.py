"""Side services `make run` starts next to the API (see phb.localrun)."""

from __future__ import annotations

from payments.standin import sidecar as paystack_standin

# The local Paystack stand-in: started only when PAYSTACK_SECRET_KEY is empty; it sets
# PAYSTACK_BASE_URL and a local secret key in the environment of everything started after it.
SIDECARS: list = [paystack_standin]
