"""The fake honours every declared annotation (it stores the request; the controller's tests read it)."""

from __future__ import annotations

from ccm.annotations.support import EVERYTHING

SUPPORT = EVERYTHING
