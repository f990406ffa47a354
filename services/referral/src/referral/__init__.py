"""Identification and decisions: referrals, Duty to Notify, Reasonable and Conclusive Grounds
decisions, police referrals.
"""
