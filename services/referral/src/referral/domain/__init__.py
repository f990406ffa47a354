"""The referral's domain: who may record what (actions.py), the decision rules and people's
age bands; pure, no I/O."""
