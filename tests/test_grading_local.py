"""coursegrade's small-batch path: submissions graded in processes forked from the
coordinator (no Dask cluster), one process per submission, a crashed one tried once more."""

import os

from coursegrade import coordinator


def job(name):
    return {"student": name, "payload": {"student": name}}


def test_each_submission_gets_its_own_process_and_a_crash_is_retried_once(monkeypatch, tmp_path):
    def fake_grading(payload):
        (tmp_path / f"{payload['student']}-{os.getpid()}").touch()  # one file per attempt
        if payload["student"] == "crasher":
            os._exit(9)  # the grading process dies, as when a submission kills it
        return {"student": payload["student"], "pid": os.getpid()}

    monkeypatch.setattr(coordinator, "grade_submission", fake_grading)
    outcome = {j["student"]: (result, failure) for j, result, failure in
               coordinator._in_processes([job("ada"), job("crasher"), job("bob")], workers=2)}
    assert outcome["ada"][0]["student"] == "ada" and outcome["bob"][0]["student"] == "bob"
    assert outcome["ada"][0]["pid"] != outcome["bob"][0]["pid"] != os.getpid()
    assert outcome["crasher"] == (None, coordinator.KILLED)
    assert len(list(tmp_path.glob("crasher-*"))) == 2, "a crashed submission is tried exactly twice"
