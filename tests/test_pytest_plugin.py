"""The pytest plugin: the cogwork_engine fixture and assert_enqueued."""

import pytest

from cogwork.pytest_plugin import assert_enqueued


def test_the_fixture_is_an_in_memory_engine_that_runs_jobs(cogwork_engine):
    cogwork_engine.add_handler("double", lambda job: job.input * 2)
    id = cogwork_engine.enqueue("double", 2**70)
    assert cogwork_engine.drain()["completed"] == 1
    assert cogwork_engine.job(id).output == 2**71


def test_each_test_gets_a_fresh_database(cogwork_engine):
    assert cogwork_engine.jobs() == []


def test_assert_enqueued_finds_the_one_matching_job_or_fails_listing_them(cogwork_engine):
    cogwork_engine.add_handler("mail", lambda job: None)
    first = cogwork_engine.enqueue("mail", {"to": "ada@example.com"}, queue="mail")
    cogwork_engine.enqueue("mail", {"to": "bob@example.com"}, queue="mail", priority=2)
    assert assert_enqueued(cogwork_engine, "mail", {"to": "ada@example.com"}, queue="mail").id == first
    assert assert_enqueued(cogwork_engine, "mail", priority=2).input == {"to": "bob@example.com"}
    with pytest.raises(AssertionError, match=r"found 2; jobs of 'mail':\n  job \d+: queue='mail'"):
        assert_enqueued(cogwork_engine, "mail", queue="mail")
    with pytest.raises(AssertionError, match="found 0"):
        assert_enqueued(cogwork_engine, "mail", {"to": "eve@example.com"})
