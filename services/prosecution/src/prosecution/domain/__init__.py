"""The criminal case's domain: who may record what (actions.py) and its rules (cases.py);
pure, no I/O."""
