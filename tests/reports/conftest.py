"""Report and replay tests run a short paper-venue order."""

from tests.support.paper_run import paper_run

__all__ = ["paper_run"]
