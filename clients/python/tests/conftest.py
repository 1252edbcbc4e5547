"""Fixtures of the integration tests: the real API started by scripts/test-python.sh.

The script exports ``SAAS_API_URL``, ``SAAS_ADMIN_KEY`` and ``SAAS_MOCK_URL`` (the mock upstream);
without them the integration tests are skipped and only the unit tests run. Every run sets up
its own organization, provider (on the mock), model group and teams through ``AdminClient``,
under ids unique to the run, so runs never meet each other's data.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import httpx
import pytest

from saas_client import AdminClient, Client

API_URL = os.environ.get("SAAS_API_URL")
ADMIN_KEY = os.environ.get("SAAS_ADMIN_KEY", "")
MOCK_URL = os.environ.get("SAAS_MOCK_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if API_URL:
        return
    skip = pytest.mark.skip(reason="SAAS_API_URL is not set: run scripts/test-python.sh for the integration tests")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@dataclass
class Team:
    team_id: str
    key: str
    group: str

    def client(self, **options: Any) -> Client:
        return Client(API_URL or "", self.key, team_id=self.team_id, **options)


@dataclass
class Stack:
    run: str
    organization: str
    group: str
    admin: AdminClient


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The run's organization, provider on the mock, and model group, made through AdminClient."""
    run = uuid.uuid4().hex[:8]
    admin = AdminClient(API_URL or "", ADMIN_KEY)
    organization, provider, group = f"py-org-{run}", f"py-mock-{run}", f"py-group-{run}"
    admin.create_organization(organization, "Python client tests")
    admin.create_provider(provider, "openai", MOCK_URL, "sk-mock-provider-key", timeout_seconds=30)
    admin.create_model_group(
        group,
        [{"model_name": "mock-gpt", "provider": provider, "priority": 0, "input_price_per_million": 0.5, "output_price_per_million": 1.5}],
        display_name="Mock model",
    )
    yield Stack(run, organization, group, admin)
    admin.close()


@pytest.fixture(scope="session")
def make_team(stack: Stack) -> Callable[..., Team]:
    """A new team of the run's organization, holding the run's model group."""

    def make(credits: int = 100_000, **fields: Any) -> Team:
        team_id = f"py-team-{stack.run}-{uuid.uuid4().hex[:6]}"
        created = stack.admin.create_team(stack.organization, team_id, model_groups=[stack.group], credits_allocated=credits, **fields)
        return Team(team_id, created["virtual_key"], stack.group)

    return make


@pytest.fixture(scope="session")
def team(make_team: Callable[..., Team]) -> Team:
    return make_team()


@pytest.fixture
def client(team: Team) -> Iterator[Client]:
    with team.client() as c:
        yield c


@pytest.fixture
def mock() -> Iterator[Callable[..., None]]:
    """Changes how the mock upstream answers (``latency_ms``, ``stream_delta_ms``…); reset after the test."""

    def behave(**behaviour: Any) -> None:
        httpx.put(f"{MOCK_URL}/_mock/behaviour", json=behaviour).raise_for_status()

    yield behave
    httpx.post(f"{MOCK_URL}/_mock/reset").raise_for_status()
