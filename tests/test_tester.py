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
        else:  # begin, end, call, attribute, iterate, define
            saved, builtins.input = builtins.input, asked
            try:
                send(json.loads(getattr(serve, message["op"])(namespace, json.dumps(message))))
            finally:
                builtins.input = saved


def run(source, namespace, given=None):
    """The verdict of the test cell ``source`` on the student's ``namespace`` (given: the sheet's
    functions, {name: source}, as spec.given_functions finds them in the release)."""
    ours, theirs = socket.socketpair()
    verdict = {}
    with ours, theirs:
        worker = threading.Thread(target=lambda: verdict.update(kernel(theirs, namespace)))
        worker.start()
        link = tester.Link(ours.makefile("rwb"), wire)
        done = tester.run_cell(link, source, 7, given)
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


def test_the_students_objects_stay_in_the_kernel_and_a_tests_class_is_defined_there_too():
    namespace = student("import torch\nfrom torch import nn\n"
                        "class Net(nn.Module):\n    def __init__(self, k):\n        super().__init__()\n"
                        "        self.layer = nn.Linear(2, k)\n    def forward(self, x):\n        return self.layer(x).sum(1)\n"
                        "def train(k):\n    torch.manual_seed(k)\n    return Net(k), torch.rand(1).item()\n"
                        "def draw():\n    return torch.rand(2)\n")
    source = ("net = Net(3)\nassert isinstance(net.layer, nn.Linear) and net.layer.weight.shape == (3, 2)\n"
              "assert net(torch.ones(4, 2)).shape == (4,)\n"
              "assert sum(p.numel() for p in net.parameters()) == 9\n"
              "class Stand(nn.Module):\n    def __init__(self, k):\n        super().__init__()\n"
              "        self.k = k\n    def forward(self, x):\n        return x.sum(1) * self.k\n"
              "_yours, Net = Net, Stand\n"
              "try:\n    model, drawn = train(2)\nfinally:\n    Net = _yours\n"
              "assert isinstance(model, Stand) and model(torch.ones(1, 2)).item() == 4.0\n"
              "torch.manual_seed(2)\nassert drawn == torch.rand(1).item()\n"
              "torch.manual_seed(5)\na, b = draw(), torch.rand(2)\n"  # the random generator, as in one process
              "torch.manual_seed(5)\nassert torch.equal(a, torch.rand(2)) and torch.equal(b, torch.rand(2))\n")
    verdict = run(source, namespace)
    assert verdict["status"] == "ok", verdict
    assert "Stand" in namespace  # defined in the kernel from the test's source, as in one process


def test_a_reference_defined_before_the_test_reads_the_name_still_stands_in():
    namespace = student("def sigmoid(x):\n    return 0 * x\n"
                        "def slope(x):\n    s = sigmoid(x)\n    return s * (1 - s)\n")
    verdict = run("def sigmoid(v):\n    return 1 / (1 + np.exp(-np.asarray(v)))\n"
                  "assert np.isclose(slope(0.0), 0.25), slope(0.0)\n", namespace)
    assert verdict["status"] == "ok", verdict


def test_the_sheets_given_functions_are_the_testers_own():
    given = {"helper": "def helper(n):\n    return list(range(n))\n"}
    namespace = student("def helper(n):\n    return [0] * n\n"  # replaced in the kernel
                        "def total(f, n):\n    return sum(f(n))\n")
    verdict = run("assert helper(3) == [0, 1, 2]\nassert total(helper, 3) == 0\n", namespace, given)
    assert verdict["status"] == "ok", verdict  # passed to the student's code: the kernel's own


@pytest.mark.parametrize("source, names", [
    ("assert np.allclose(f(x), 1)", ["f", "np", "x"]),
    ("def g(p):\n    return np.sin(p) + h(p)\ny = 2\nassert g(y)", ["h", "np"]),
    ("import torch\nfor k in range(3):\n    assert k >= 0", []),
    ("_yours = {n: globals()[n] for n in ('s',)}\nz = [t(v) for v in W0]\nf = lambda q: q + c", ["W0", "c", "t"]),
])
def test_the_names_a_cell_reads_from_the_notebook(source, names):
    assert tester._free_names(source) == names
