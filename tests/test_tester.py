"""The tester's protocol (coursegrade/tester.py with serve.py on the kernel's side), without a
kernel: a thread plays the worker and the kernel, answering the tester's requests with serve.py
on a dict that stands for the notebook's namespace. (tests/test_grading.py grades real
submissions this way, hostile ones included.)"""

import builtins
import json
import socket
import threading

import numpy as np
import pytest

from coursegrade import serve, tester, wire

serve.install(vars(wire))


def kernel(connection, namespace):
    """The worker and the kernel in one: lookups and calls answered with serve.py; a call-back
    (the kernel's input request) is carried to the tester and its answer back."""
    stream = connection.makefile("rwb")

    def send(message):
        stream.write(json.dumps(message).encode() + b"\n")
        stream.flush()

    def asked(prompt):
        question = json.loads(prompt)
        send({"op": "callback", "n": question["callback"], "args": question["args"]})
        answer = json.loads(stream.readline())
        return json.dumps({k: v for k, v in answer.items() if k in ("out", "error")})

    while line := stream.readline():
        message = json.loads(line)
        if message["op"] == "done":
            return message
        if message["op"] == "lookup":
            send(json.loads(serve.lookup(namespace, message["name"])))
        elif message["op"] in ("begin", "end"):
            send(json.loads(getattr(serve, message["op"])(namespace, json.dumps(message))))
        else:
            saved, builtins.input = builtins.input, asked
            try:
                send(json.loads(serve.call(namespace, json.dumps(message))))
            finally:
                builtins.input = saved


def run(source, namespace):
    """The verdict of the test cell ``source`` on the student's ``namespace``."""
    ours, theirs = socket.socketpair()
    verdict = {}
    worker = threading.Thread(target=lambda: verdict.update(kernel(theirs, namespace)))
    worker.start()
    link = tester.Link(ours.makefile("rwb"), wire)
    done = tester.run_cell(link, source, 7)
    link.send(done)
    worker.join(10)
    assert verdict == done
    return done


def student(source):
    namespace = {"np": np, "__name__": "__main__"}
    exec(source, namespace)
    return namespace


def test_a_passing_test_and_a_failing_one_with_the_line_that_failed():
    namespace = student("def double(x):\n    return 2 * np.asarray(x)\n")
    assert run("assert np.allclose(double([1, 2]), [2, 4])", namespace)["status"] == "ok"
    failed = run("x = 1\nassert double(3) == 7, 'double(3) is 6'", namespace)
    assert failed["status"] == "error" and failed["ename"] == "AssertionError"
    assert failed["traceback"] == ["Cell In[7], line 2", "AssertionError: double(3) is 6"]


def test_errors_warnings_and_numpys_settings_cross_like_in_one_process():
    namespace = student("def grow(x):\n    return np.exp(np.asarray(x, float))\n"
                        "def picky(x):\n    raise ValueError('no negative x')\n")
    source = ("import warnings\n"
              "with np.errstate(over='raise'):\n"
              "    try:\n        grow([1000.0])\n        raise AssertionError('no error')\n"
              "    except FloatingPointError:\n        pass\n"
              "with warnings.catch_warnings(record=True) as caught:\n"
              "    warnings.simplefilter('always')\n    grow([1000.0])\n"
              "assert any(issubclass(w.category, RuntimeWarning) for w in caught), caught\n"
              "try:\n    picky(-1)\nexcept ValueError as error:\n    assert 'negative' in str(error)\n")
    assert run(source, namespace)["status"] == "ok", run(source, namespace)


def test_a_change_in_place_is_seen_and_a_reference_stands_in_for_the_students_function():
    namespace = student("def sigmoid(x):\n    return 0 * x\n"
                        "def slope(x):\n    s = sigmoid(x)\n    return s * (1 - s)\n"
                        "def clobber(x):\n    x[0] = 99.0\n    return x\n")
    source = ("x = np.array([1.0, 2.0])\nclobber(x)\nassert x[0] == 99.0, x\n"
              "_yours = globals()['sigmoid']\n"
              "globals().update(sigmoid=lambda v: 1 / (1 + np.exp(-np.asarray(v))))\n"
              "assert np.isclose(slope(0.0), 0.25), slope(0.0)\n"
              "globals().update(sigmoid=_yours)\n"
              "assert np.isclose(slope(0.0), 0.0)\n")
    assert run(source, namespace)["status"] == "ok", run(source, namespace)
    assert namespace["sigmoid"](np.ones(1))[0] == 0  # the student's own again after the call


def test_the_kernel_can_call_back_only_what_the_call_gave_it_and_gets_only_data():
    namespace = student("import builtins, json\n"
                        "def sneaky(f, x):\n"
                        "    other = json.loads(builtins.input(json.dumps({'callback': 5, 'args': '[[],{\"dict\":[]}]'})))\n"
                        "    return [f(x), other]\n")
    verdict = run("out, other = sneaky(lambda v: v + 1, 1)\nassert out == 2\n"
                  "assert 'did not give' in other['error'], other\n", namespace)
    assert verdict["status"] == "ok", verdict


def test_what_the_kernel_sends_is_decoded_to_plain_types():
    namespace = student("class Always(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
                        "def cheat():\n    return np.zeros(2).view(Always)\n")
    verdict = run("assert type(cheat()) is np.ndarray\nassert not (cheat() == 1).any()\n", namespace)
    assert verdict["status"] == "ok", verdict


@pytest.mark.parametrize("source, names", [
    ("assert np.allclose(f(x), 1)", ["f", "np", "x"]),
    ("def g(p):\n    return np.sin(p) + h(p)\ny = 2\nassert g(y)", ["h", "np"]),
    ("import torch\nfor k in range(3):\n    assert k >= 0", []),
    ("_yours = {n: globals()[n] for n in ('s',)}\nz = [t(v) for v in W0]\nf = lambda q: q + c", ["W0", "c", "t"]),
])
def test_the_names_a_cell_reads_from_the_notebook(source, names):
    assert tester._free_names(source) == names
