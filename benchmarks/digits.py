"""How long `nnlib.train.fit` takes to learn scikit-learn's digits.

Trains 64 -> 32 -> 10 (ReLU, softmax) with Adam (eta = 0.01), cross-entropy, 20 epochs of
mini-batches of 32 on a stratified 80/20 split, and prints the validation accuracy and the
time of the fit alone and with imports and data loading. Target: at least 95% validation
accuracy in under 20 s on 2 cores.

Usage: python benchmarks/digits.py
"""

import time

TARGET_SECONDS, TARGET_ACCURACY = 20.0, 0.95


def main():
    start = time.perf_counter()
    from nnlib import datasets
    from nnlib.network import MLP
    from nnlib.optim import Adam
    from nnlib.train import fit

    X, y = datasets.digits()
    X_tr, X_val, y_tr, y_val = datasets.train_val_split(X, y, val_fraction=0.2, rng=0)
    before_fit = time.perf_counter()
    history = fit(MLP([64, 32, 10], ["relu", "softmax"], init="he", rng=0), X_tr, y_tr, "cce",
                  Adam(eta=0.01), epochs=20, batch_size=32, validation_data=(X_val, y_val),
                  metrics=["accuracy"], rng=0, progress=False)
    end = time.perf_counter()
    accuracy, total = history["val_accuracy"][-1], end - start
    print(f"validation accuracy {accuracy:.4f} (target >= {TARGET_ACCURACY})")
    print(f"fit {end - before_fit:.2f} s; with imports and data {total:.2f} s "
          f"(target < {TARGET_SECONDS:g} s)")
    met = accuracy >= TARGET_ACCURACY and total < TARGET_SECONDS
    print("targets met" if met else "targets MISSED")


if __name__ == "__main__":
    main()
