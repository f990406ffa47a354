"""The journey simulator: a calibrated synthetic cohort driven through the partner APIs."""
