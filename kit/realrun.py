"""The lab's two phases at full size, as a plain script: time, memory and accuracy of the real thing.

    python -m kit.realrun                                  # 50,000 / 10,000 images, 15 + 10 epochs
    python -m kit.realrun --train 512 --test 256 --epochs 1,1
    python -m kit.realrun --data ~/cifar-10-batches-py --weights efficientnetv2-b0_notop.h5

The code is the lab's reference code (seed), with no fast mode: the batch size, the
optimizers, the 40 unfrozen layers and ``initial_epoch`` are the lab's. It uses only
Keras 3, so it runs on any backend (``KERAS_BACKEND=jax|tensorflow|torch``).

Where the data or the weights cannot be had (no network), it substitutes them at the
requested size, random images or random weights, and says so in its output and in the
last line, which is always::

    realrun: phase1 S s, phase2 S s, baseline ACC, finetune ACC, peak MB MB (data: real|substituted, weights: imagenet|random)
"""
import argparse
import pickle
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

NUM_CLASSES = 10
INPUT_SHAPE = (32, 32, 3)
FINE_TUNE_AT = -40


@dataclass
class Outcome:
    """What one full run measured; ``summary()`` is the script's last line."""

    phase1_s: float
    """Wall seconds of the phase-1 ``fit`` (feature extraction)."""
    phase2_s: float
    """Wall seconds of the phase-2 ``fit`` (fine-tuning)."""
    baseline: float
    """Test accuracy right after phase 1."""
    finetune: float
    """Test accuracy after phase 2."""
    peak_host_mb: float
    """Peak resident memory of this process."""
    peak_gpu_mb: float | None
    """Peak accelerator memory, where the backend reports it."""
    data: str
    """``real`` (a CIFAR-10 copy or Keras' download) or ``substituted`` (random images)."""
    weights: str
    """``imagenet`` or ``random``."""

    def summary(self) -> str:
        return (f"realrun: phase1 {self.phase1_s:.1f} s, phase2 {self.phase2_s:.1f} s, "
                f"baseline {self.baseline:.4f}, finetune {self.finetune:.4f}, peak MB {self.peak_host_mb:.0f} MB "
                f"(data: {self.data}, weights: {self.weights})")


def say(message: str) -> None:
    print(f"[realrun] {message}", flush=True)


def read_cifar_folder(folder: Path):
    """CIFAR-10's python version (``cifar-10-batches-py``), as Keras' ``load_data()`` returns it."""
    import numpy as np

    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"

    def batch(name):
        with open(folder / name, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], dtype="uint8").reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d[b"labels"], dtype="uint8").reshape(-1, 1)

    parts = [batch(f"data_batch_{i}") for i in range(1, 6) if (folder / f"data_batch_{i}").exists()]
    if not parts:
        raise FileNotFoundError(f"{folder} has no data_batch_1..5 (CIFAR-10, python version)")
    x_test, y_test = batch("test_batch")
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])), (x_test, y_test)


def load_data(data_dir: Path | None, n_train: int, n_test: int, seed: int):
    """((x_train, y_train), (x_test, y_test)), 'real' or 'substituted'."""
    import numpy as np
    import keras

    try:
        if data_dir is not None:
            (x_train, y_train), (x_test, y_test) = read_cifar_folder(data_dir)
            say(f"CIFAR-10 read from {data_dir}")
        else:
            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
            say("CIFAR-10 from keras.datasets.cifar10.load_data()")
        if n_train > len(x_train) or n_test > len(x_test):
            raise ValueError(f"asked for {n_train} + {n_test} images, CIFAR-10 has {len(x_train)} + {len(x_test)}")
        return ((x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test])), "real"
    except ValueError:
        raise
    except Exception as exc:  # offline, or no copy: the run still measures time and memory
        say(f"CIFAR-10 unavailable ({type(exc).__name__}: {str(exc)[:200]}); "
            f"SUBSTITUTED with {n_train} + {n_test} random images of the same shape and dtype. "
            "Accuracies of this run mean nothing.")
        rng = np.random.default_rng(seed)
        x_train = rng.integers(0, 256, (n_train, *INPUT_SHAPE), dtype="uint8")
        x_test = rng.integers(0, 256, (n_test, *INPUT_SHAPE), dtype="uint8")
        y_train = rng.integers(0, NUM_CLASSES, (n_train, 1), dtype="uint8")
        y_test = rng.integers(0, NUM_CLASSES, (n_test, 1), dtype="uint8")
        return ((x_train, y_train), (x_test, y_test)), "substituted"


def load_base(weights_file: Path | None):
    """EfficientNetV2B0 without top, and 'imagenet' or 'random'."""
    import keras

    source = str(weights_file) if weights_file else "imagenet"
    try:
        base = keras.applications.EfficientNetV2B0(include_top=False, weights=source, input_shape=INPUT_SHAPE)
        say(f"ImageNet weights from {weights_file or 'Keras (cache or download)'}")
        return base, "imagenet"
    except Exception as exc:
        if weights_file:  # a file the user named must load: no silent substitution
            raise
        say(f"ImageNet weights unavailable ({type(exc).__name__}: {str(exc)[:200]}); "
            "the base starts from RANDOM weights. Accuracies of this run are not the lab's.")
        return keras.applications.EfficientNetV2B0(include_top=False, weights=None, input_shape=INPUT_SHAPE), "random"


def peak_host_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20  # KiB on Linux, bytes on macOS


def peak_gpu_mb() -> float | None:
    """Peak accelerator memory in MB from whichever backend runs, or None on a CPU."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf
            if tf.config.list_physical_devices("GPU"):
                return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
        elif backend == "jax":
            import jax
            device = jax.devices()[0]
            if device.platform != "cpu":
                return (device.memory_stats() or {}).get("peak_bytes_in_use", 0) / 2**20
        elif backend == "torch":
            import torch
            if torch.cuda.is_available():
                return torch.cuda.max_memory_allocated() / 2**20
    except Exception:  # a report, not a reason to fail the run
        return None
    return None


def run(args) -> Outcome:
    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    say(f"Keras {keras.__version__}, backend {keras.backend.backend()}")
    ((x_train, y_train), (x_test, y_test)), data = load_data(args.data, args.train, args.test, args.seed)
    x_train, x_test = x_train.astype("float32"), x_test.astype("float32")
    y_train_cat = keras.utils.to_categorical(y_train, NUM_CLASSES)
    y_test_cat = keras.utils.to_categorical(y_test, NUM_CLASSES)
    initial_epochs, fine_tune_epochs = args.epochs

    base_model, weights = load_base(args.weights)
    base_model.trainable = False
    model = keras.Sequential([base_model, layers.GlobalAveragePooling2D(), layers.Dropout(0.3),
                              layers.Dense(NUM_CLASSES, activation="softmax")], name="finetuning_lab_model")
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.CategoricalCrossentropy(),
                  metrics=[keras.metrics.CategoricalAccuracy()])
    fit = dict(batch_size=args.batch_size, validation_data=(x_test, y_test_cat), verbose=args.verbose)

    say(f"phase 1 (feature extraction): {len(x_train)} images, {initial_epochs} epochs")
    start = time.perf_counter()
    history = model.fit(x_train, y_train_cat, epochs=initial_epochs, **fit)
    phase1_s = time.perf_counter() - start
    _, accuracy_baseline = model.evaluate(x_test, y_test_cat, batch_size=args.batch_size, verbose=0)
    say(f"phase 1: {phase1_s:.1f} s, baseline test accuracy {accuracy_baseline:.4f}")

    base_model.trainable = True
    for layer in base_model.layers[:FINE_TUNE_AT]:
        layer.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-5), loss=keras.losses.CategoricalCrossentropy(),
                  metrics=[keras.metrics.CategoricalAccuracy()])

    say(f"phase 2 (fine-tuning the last {-FINE_TUNE_AT} base layers): epochs "
        f"{initial_epochs}..{initial_epochs + fine_tune_epochs - 1}")
    start = time.perf_counter()
    model.fit(x_train, y_train_cat, epochs=initial_epochs + fine_tune_epochs,
              initial_epoch=len(history.epoch), **fit)
    phase2_s = time.perf_counter() - start
    _, accuracy_finetune = model.evaluate(x_test, y_test_cat, batch_size=args.batch_size, verbose=0)
    say(f"phase 2: {phase2_s:.1f} s, fine-tuned test accuracy {accuracy_finetune:.4f}")

    gpu = peak_gpu_mb()
    outcome = Outcome(phase1_s, phase2_s, float(accuracy_baseline), float(accuracy_finetune), peak_host_mb(), gpu,
                      data, weights)
    say(f"peak host memory {outcome.peak_host_mb:.0f} MB; peak accelerator memory "
        + (f"{gpu:.0f} MB" if gpu is not None else "n/a (no accelerator reported)"))
    return outcome


def _epochs(text: str):
    try:
        a, b = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected A,B: phase-1 and phase-2 epochs, e.g. 15,10") from None
    if a < 1 or b < 1:
        raise argparse.ArgumentTypeError("each phase needs at least one epoch")
    return a, b


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kit realrun", description=__doc__.splitlines()[0],
                                epilog="More: docs/grading-rules.md in the kit's checkout.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # standalone: no kit import
    p.add_argument("--data", type=Path, help="a local copy of CIFAR-10, python version (the folder "
                   "cifar-10-batches-py or the one holding it); none: keras.datasets.cifar10.load_data()")
    p.add_argument("--weights", type=Path, help="efficientnetv2-b0_notop.h5; none: Keras' cache or download")
    p.add_argument("--train", type=int, default=50_000, help="training images (all: 50,000)")
    p.add_argument("--test", type=int, default=10_000, help="test images (all: 10,000)")
    p.add_argument("--epochs", type=_epochs, default=(15, 10), help="phase-1,phase-2 epochs")
    p.add_argument("--batch-size", type=int, default=32, help="as in the lab: Keras' default, 32")
    p.add_argument("--seed", type=int, default=0, help="keras.utils.set_random_seed")
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="Keras' fit verbosity")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.weights and not args.weights.is_file():
        parser().error(f"--weights {args.weights}: no such file")
    outcome = run(args)
    print(outcome.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
