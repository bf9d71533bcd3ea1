"""Every error a model of one's own can raise is one line that names it and says what to do,
exit 2, no traceback (issue 30, items 7 and 11): a module that cannot be imported, an ``assert``
in ``__init__`` (serially and under ``--jobs 2``), an estimator of one's own that is not
scikit-learn's, one without ``predict_proba`` (``LinearSVC`` too), wrong output widths, NaN
probabilities, a ``KeyError`` in ``forward``, ``sys.exit(3)`` in a model, a worker killed mid-job;
and ``--debug`` shows the traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MODULES = {
    "errmods_syntax": "def broken(:\n    pass\n",
    "errmods_raises": "raise RuntimeError('needs the GPU build')\n",
    "errmods_exits": "import sys\nsys.exit(3)\n",
    "errmods": textwrap.dedent(
        """
        import os, signal, sys
        import numpy as np
        import torch
        from sklearn.linear_model import LogisticRegression
        from torch import nn


        class Net(nn.Module):
            def __init__(self, spec, hidden: int = 8):
                super().__init__()
                self.lin = nn.Sequential(nn.Linear(spec.text_dim, hidden), nn.ReLU(), nn.Linear(hidden, spec.num_genres))

            def forward(self, batch):
                return self.lin(batch["text"])


        class AssertInit(Net):
            def __init__(self, spec, hidden: int = 8):
                assert hidden > 100, "hidden must be over 100"
                super().__init__(spec, hidden)


        class WrongKey(Net):
            def forward(self, batch):
                return self.lin(batch["txt"])


        class Exits(Net):
            def forward(self, batch):
                sys.exit(3)


        class Killed(Net):
            def __init__(self, spec):
                os.kill(os.getpid(), signal.SIGKILL)


        class Plain:
            '''fit / predict_proba / get_params, but not scikit-learn's BaseEstimator.'''

            def __init__(self, C: float = 1.0):
                self.C = C

            def get_params(self, deep=True):
                return {"C": self.C}

            def set_params(self, **params):
                self.__dict__.update(params)
                return self

            def fit(self, X, y):
                self.model_ = LogisticRegression(C=self.C, max_iter=200).fit(X, y)
                self.classes_ = self.model_.classes_
                return self

            def predict_proba(self, X):
                return self.model_.predict_proba(X)


        class NoProba:
            def __init__(self, C: float = 1.0):
                self.C = C

            def fit(self, X, y):
                return self

            def predict(self, X):
                return np.zeros((len(X), 23))


        class Narrow:
            def fit(self, X, Y):
                return self

            def predict_proba(self, X):
                return np.full((len(X), 5), 0.5)


        class NaNs:
            def fit(self, X, Y):
                return self

            def predict_proba(self, X):
                p = np.full((len(X), Y_WIDTH), 0.5)
                p[::3] = np.nan
                return p


        Y_WIDTH = 23
        """
    ),
}


@pytest.fixture(scope="module")
def user_modules(tmp_path_factory):
    """The modules above in a folder on sys.path (the spawned workers of --jobs inherit it)."""
    folder = tmp_path_factory.mktemp("usermods")
    for name, text in MODULES.items():
        (folder / f"{name}.py").write_text(text)
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from mmimdb2.demo.writer import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=80, seed=0)


def _run(demo, tmp_path, *argv: str) -> list[str]:
    """``benchmarks.run`` on the demo (a warm shared cache after the first call); stderr's lines."""
    from benchmarks.run import main

    rc = main(["--dataset", str(demo), "--out", str(tmp_path / "out"), "--cache-dir", str(demo.parent / "cache"), "--epochs", "1",
               "--kg-epochs", "1", "--kg-dim", "8", "--encoder", "weightfree", "--seeds", "0", "--no-progress", *argv])  # fmt: skip
    return [rc, *argv]


def _one_line(capsys_or_fd) -> str:
    err = capsys_or_fd.readouterr().err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: "), err
    return last


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("errmods_syntax:Net", "error: model 'errmods_syntax:Net': importing module 'errmods_syntax' raised SyntaxError: invalid syntax"),
        ("errmods_raises:Net", "error: model 'errmods_raises:Net': importing module 'errmods_raises' raised RuntimeError: needs the GPU build; fix the module"),
        ("errmods_exits:Net", "error: model 'errmods_exits:Net': importing module 'errmods_exits' raised called sys.exit(3)"),
        ("errmods:NoProba", "error: model 'errmods:NoProba' has fit and predict but no predict_proba: the harness chooses thresholds on genre probabilities"),
        ("sklearn.svm:LinearSVC", "error: model 'sklearn.svm:LinearSVC' has fit and a decision_function but no predict_proba"),
    ],
)
def test_a_model_that_cannot_be_used_is_one_line_before_any_data_is_read(model, says, user_modules, tmp_path, capsys):
    from benchmarks.run import main

    assert main(["--models", model, "--dataset", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 2
    line = _one_line(capsys)
    assert line.startswith(says), line
    if model == "sklearn.svm:LinearSVC":
        assert "CalibratedClassifierCV(LinearSVC())" in line


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("errmods:AssertInit", "error: model 'errmods:AssertInit' could not be built: AssertionError: hidden must be over 100; it is built as "
                               "AssertInit(spec, **options): fix it or the settings given (--debug shows where) (seed 0). Fix the model"),
        ("errmods:WrongKey", "error: model 'errmods:WrongKey' asked the batch for 'txt'; its keys are image, kg, kg_count, kg_degree, people, text (seed 0)"),
        ("errmods:Exits", "error: model 'errmods:Exits' (seed 0) called sys.exit(3) (a model must raise an exception, not exit)"),
        ("errmods:Narrow", "error: model 'errmods:Narrow': predict_proba returned shape (8, 5); expected (8, 23)"),
        ("errmods:NaNs", "error: model 'errmods:NaNs': predict_proba gave values outside [0, 1] (NaN or inf included) for 3 of 8 movies"),
    ],
)
def test_a_model_that_fails_in_its_job_is_one_line_naming_it(model, says, user_modules, demo, tmp_path, capsys):
    assert _run(demo, tmp_path, "--models", model)[0] == 2
    line = _one_line(capsys)
    assert line.startswith(says), line
    assert line.endswith("finished jobs are kept: rerun the same command to resume")


def test_an_assert_under_jobs_2_is_one_line_beside_a_model_that_works(user_modules, demo, tmp_path, capfd):
    rc = _run(demo, tmp_path, "--models", "errmods:AssertInit", "errmods:Net", "--jobs", "2", "--threads", "2")[0]
    err = capfd.readouterr().err
    assert rc == 2 and "Traceback" not in err and err.count("AssertionError") == 1, err
    assert err.strip().splitlines()[-1].startswith("error: model 'errmods:AssertInit' could not be built: AssertionError: hidden must be over 100")


def test_debug_prints_the_traceback_above_the_line(user_modules, demo, tmp_path, capsys):
    assert _run(demo, tmp_path, "--models", "errmods:WrongKey", "--debug")[0] == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "batch[\"txt\"]" in err and err.strip().splitlines()[-1].startswith("error: model 'errmods:WrongKey'")


def test_an_estimator_of_ones_own_without_scikit_learns_base_class_works(user_modules, demo, tmp_path, capsys):
    assert _run(demo, tmp_path, "--models", "errmods:Plain")[0] == 0, capsys.readouterr().err
    (result,) = (tmp_path / "out" / "results").glob("*.json")
    assert "errmods:Plain" in result.read_text()


def test_a_worker_killed_mid_job_is_one_line_without_a_leaked_semaphore_warning(user_modules, demo, tmp_path):
    """In a process of its own, so the multiprocessing resource tracker's exit (where a leaked
    semaphore would be reported) is seen."""
    argv = [sys.executable, "-m", "benchmarks.run", "--models", "errmods:Killed", "errmods:Net", "--jobs", "2", "--threads", "2",
            "--dataset", str(demo), "--out", str(tmp_path / "out"), "--cache-dir", str(demo.parent / "cache"), "--epochs", "1",
            "--kg-epochs", "1", "--kg-dim", "8", "--encoder", "weightfree", "--seeds", "0", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(user_modules)])}
    res = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr[-2000:]
    assert lines[-1] == ("error: the worker running model 'errmods:Killed' (seed 0) died (killed by SIGKILL); "
                         "finished jobs are kept: rerun the same command to resume"), res.stderr[-2000:]  # fmt: skip
    assert "Traceback" not in res.stderr and "leaked" not in res.stderr


def test_cross_validation_names_the_model_that_failed(user_modules, demo, tmp_path, capsys):
    from benchmarks.cv import main

    rc = main(["--models", "errmods:WrongKey", "--dataset", str(demo), "--out", str(tmp_path), "--cache-dir", str(demo.parent / "cache"),
               "--folds", "2", "--epochs", "1", "--kg-epochs", "1", "--kg-dim", "8", "--encoder", "weightfree", "--seeds", "0", "--no-progress"])  # fmt: skip
    line = _one_line(capsys)
    assert rc == 2 and line.startswith("error: model 'errmods:WrongKey' asked the batch for 'txt'") and "(seed 0, fold 0)" in line
    assert line.endswith("no scores were written")
