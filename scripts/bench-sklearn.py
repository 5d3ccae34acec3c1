#!/usr/bin/python3
"""bench-sklearn.py: scikit-learn's IsolationForest on CIC-MalMem-2022, the
reference that imgward's detectors are measured against (docs/BENCHMARKS.md).

It trains IsolationForest(n_estimators=100, random_state=0) on the Benign rows
of the training file, times score_samples over all rows of the test file
(single process, as scikit-learn runs by default), and prints one JSON
object: {"rows": N, "rows_per_second": R, "rows_per_cpu_second": C, "auc": A,
"fit_seconds": F, "sklearn": VERSION}, where C divides by the processor time
the process took (time.process_time), the steadier measure on a shared
machine, like the Go benchmarks' rows/cpu-s. AUC is ROC AUC of the negated
score (higher is more anomalous) against Class != Benign. The training file
defaults to the test file; scripts/bench.sh gives both the same split as
imgward eval.

usage: /usr/bin/python3 scripts/bench-sklearn.py [CSV] [--train CSV] [--repeat N]
"""
import csv
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

DEFAULT = "../shared/data/cic-malmem-2022/malmem-dev.csv"


def load(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = list(r)
    label = header.index("Class")
    # The numeric features are every column but Category and Class, as
    # imgward eval takes them (it excludes the label and non-numeric columns).
    cols = [j for j, h in enumerate(header) if h not in ("Category", "Class")]
    X = np.array([[float(row[j]) for j in cols] for row in rows], dtype=np.float64)
    y = np.array([row[label] != "Benign" for row in rows], dtype=np.int8)
    return X, y


def main(argv):
    path, train, repeat = DEFAULT, None, 5
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--repeat":
            repeat = int(args.pop(0))
        elif a == "--train":
            train = args.pop(0)
        else:
            path = a
    X, y = load(path)
    Xt, yt = load(train) if train else (X, y)
    t0 = time.perf_counter()
    model = IsolationForest(n_estimators=100, random_state=0).fit(Xt[yt == 0])
    fit = time.perf_counter() - t0
    # The best of a few timed runs, as go test -bench reports a steady state.
    best = best_cpu = float("inf")
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        s = model.score_samples(X)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    auc = roc_auc_score(y, -s)
    print(json.dumps({"rows": int(len(X)), "rows_per_second": len(X) / best,
                      "rows_per_cpu_second": len(X) / best_cpu,
                      "auc": round(float(auc), 4), "fit_seconds": round(fit, 3),
                      "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])
