"""What an agency may do with a flag: read it (flags:read) and acknowledge it
(flags:write). Every partner type may, for the flags that concern it; analysts never see
a flag one by one."""

from __future__ import annotations

from nrm_domain.agencies import AgencyType

PARTNERS = frozenset(AgencyType) - {AgencyType.ANALYST}
NOTE_MAX_LENGTH = 500
# The coded actions: declared once, in the shared vocabulary of the event contracts.
ACTION_VOCABULARY = "urn:victim-journey:schema:common:vocabulary:v1#/$defs/flag_action"
