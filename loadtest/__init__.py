"""cosession-loadtest: scripted multi-client load against cosession servers.

Scenarios are ``Shopper`` subclasses with weighted ``@task`` methods (see
``loadtest.scenario``) or TOML files (``loadtest.declarative``). Imports ``protocol`` and
``cosession_client`` only, never the server (``--spawn`` runs it as a subprocess).
"""

from loadtest.scenario import CATALOG, RoomInfo, RunInfo, Scenario, ScenarioError, Shopper, task

__all__ = ["CATALOG", "RoomInfo", "RunInfo", "Scenario", "ScenarioError", "Shopper", "task"]
