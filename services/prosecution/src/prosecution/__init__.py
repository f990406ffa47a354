"""Criminal justice: crimes recorded, investigations, victim engagement, charges, trials,
Section 45.
"""
