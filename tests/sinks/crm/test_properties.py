"""The CRM must know leadstream's custom properties before any upsert, or HubSpot refuses every
batch: the sink creates what is missing once, before its first batch."""

from __future__ import annotations

import pytest

from schemas import models
from sinks.base import ConfigurationError, PermanentError, RetryPolicy
from sinks.crm.hubspot import HubSpotAdapter
from sinks.crm.mapping import PROPERTIES, updates_for
from sinks.crm.sink import CrmSink
from tests.sinks.servers import FakeHubSpot, serve

FAST = RetryPolicy(initial_s=0.01, max_backoff_s=0.05, max_elapsed_s=10)
HUBSPOT_DEFAULTS = {"email", "firstname", "lastname", "lifecyclestage"}


@pytest.fixture
def portal():
    api = FakeHubSpot(properties=set(HUBSPOT_DEFAULTS))
    with serve(api) as url:
        yield api, url


def _contacts(decisions: list) -> list[models.Record]:
    return [r for r in decisions if isinstance(r, models.ContactState | models.Mql)]


def test_a_fresh_portal_refuses_our_properties_until_the_sink_prepares_it(portal, decisions: list) -> None:
    api, url = portal
    sink = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), FAST)
    with pytest.raises(PermanentError, match="PROPERTY_DOESNT_EXIST"):
        sink.write(_contacts(decisions))
    sink.prepare()
    assert api.groups == {"leadstream"}
    defs = api.property_defs
    assert set(defs) == {p.name for p in PROPERTIES}
    assert (defs["leadstream_score"]["type"], defs["leadstream_score"]["fieldType"]) == ("number", "number")
    assert (defs["leadstream_mql_at"]["type"], defs["leadstream_mql_at"]["fieldType"]) == ("datetime", "date")
    assert {d["groupName"] for d in defs.values()} == {"leadstream"}
    sink.write(_contacts(decisions))
    assert len(api.contacts) == 10 and api.contacts["p0@acme.io"]["leadstream_mql_priority"] == "P1"


def test_preparing_again_only_reads(portal) -> None:
    api, url = portal
    sink = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), FAST)
    sink.prepare()
    before = api.requests
    CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), FAST).prepare()  # a restart
    assert api.requests == before + 1, "one GET, nothing created twice"


def test_every_property_the_mapping_writes_is_defined(decisions: list) -> None:
    written = {name for update in updates_for(decisions) for name in update.properties}
    assert written <= {p.name for p in PROPERTIES} | HUBSPOT_DEFAULTS
    assert {p.name for p in PROPERTIES} - written == set(), "no definition the mapping never uses"


def test_a_token_without_the_schema_scope_is_a_configuration_error(portal) -> None:
    api, url = portal
    with pytest.raises(ConfigurationError, match="LEADSTREAM_CRM_TOKEN"):
        CrmSink(HubSpotAdapter(url, "wrong-token", timeout_s=5), FAST).prepare()


def test_two_sinks_starting_together_a_409_on_property_creation_is_tolerated(portal, decisions: list) -> None:
    api, url = portal
    api.groups.add("leadstream")
    api.race_create = True
    sink = CrmSink(HubSpotAdapter(url, "test-token", timeout_s=5), FAST)
    sink.prepare()  # no exception: the properties exist, created by the other sink
    sink.write(_contacts(decisions))
    assert len(api.contacts) == 10
