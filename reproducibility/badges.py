"""README badges of a snapshot: what they show, and whether they are public by the snapshot's number.

Who may see a badge by number is portal's rule (`reproducibility.view_badge` in portal.access.permissions:
public once awarded or published by the project's members); the link with the snapshot's
`badge_token` answers anyone, so a project can put it in a README before any decision.
"""

from __future__ import annotations

import logging

from reproducibility.models import Snapshot

LEVEL_COLOURS = {"gold": "#b8860b", "silver": "#6c757d", "bronze": "#a0522d", "none": "#c62828"}
PENDING_COLOUR = "#9e9e9e"

logger = logging.getLogger(__name__)


def badge_face(snapshot: Snapshot) -> tuple[str, str]:
    """The badge's text and colour: the level and score of the latest report, or the snapshot's status."""
    latest = snapshot.latest_report
    if latest is None:
        return snapshot.status, PENDING_COLOUR
    return f"{latest.level} {latest.score:.0f}", LEVEL_COLOURS.get(latest.level, PENDING_COLOUR)


def set_badge_public(snapshot: Snapshot, *, public: bool, actor: object = None) -> Snapshot:
    """Publish the badge by the snapshot's number (or withdraw that); its token link is unaffected."""
    Snapshot.objects.filter(pk=snapshot.pk).update(badge_public=public)
    snapshot.badge_public = public
    logger.info("Badge of snapshot %s %s by %s", snapshot.pk, "published" if public else "withdrawn", actor)
    return snapshot
