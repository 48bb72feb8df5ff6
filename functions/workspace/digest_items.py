"""The weekly digest's items in the Workspace table (sent markers, opt-outs), as methods of its adapter.

``WorkspaceRepository`` inherits these, so the Workspace table keeps one owner.
"""

from __future__ import annotations


class DigestItems:
    """Digest markers and opt-outs (filled in by the digest capability)."""
