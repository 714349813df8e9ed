import gc

import pytest

from linkwork.core.bulk import collector_paused


def test_the_collector_is_paused_inside_and_resumes_after_even_on_error():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the run failed")
    assert gc.isenabled()


def test_a_collector_already_paused_stays_paused():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
