"""The referral's decision rules: pure functions over a referral's history, no I/O."""
