"""Loading the engine's inputs: the database's tallies agree with the pure rule."""

from dataclasses import replace

import pytest
from django.db import connection

from linkwork.contracts.achievements import (
    RegisterFact,
    child_window,
    find_achievements,
    tally_registers,
)
from linkwork.contracts.queries import (
    achievements_for,
    contract_terms,
    latest_contract,
    load_children,
)
from linkwork.support.models import RegisterEntry

from .loader import load


@pytest.mark.skipif(connection.vendor != "postgresql", reason="tallies in SQL on PostgreSQL")
def test_database_tallies_match_the_pure_rule(db, example_package):
    load(example_package / "package")
    load(example_package / "corrected")
    terms = contract_terms(latest_contract("EX-1"))
    checked = 0
    for children in load_children(terms, chunk=2):
        found = achievements_for(terms, children)
        for child in children:
            rows = [
                RegisterFact(e.session_date, e.attended, e.engaged, e.service.code, e.pk)
                for e in RegisterEntry.objects.filter(pupil__upn=child.upn).select_related(
                    "service"
                )
            ]
            window = child_window(terms, child)
            expected = tally_registers(terms, window, rows)
            assert child.tallies == tuple(replace(t, rows="") for t in expected)
            checked += len(child.tallies)
            # the evidence listed afterwards is the pure rule's, row for row
            from_rows = replace(child, registers=tuple(rows), tallies=None)
            assert [a for a in found if a.upn == child.upn] == find_achievements(terms, [from_rows])
    assert checked == 7


def test_children_load_in_chunks_with_bounded_queries(
    db, example_package, django_assert_max_num_queries
):
    load(example_package / "package")
    terms = contract_terms(latest_contract("EX-1"))
    with django_assert_max_num_queries(2 + 4 * 3):
        chunks = list(load_children(terms, chunk=1))
    assert [len(c) for c in chunks] == [1, 1, 1]
