"""The floor: only the lab's two fits, as fast mode runs them, with no notebook, Otter or audit.

EfficientNetV2B0 (random weights: offline) on 64 real CIFAR-10 images, one step per epoch:
15 epochs frozen, recompile with Adam(1e-5), 10 epochs with the last 40 layers trainable.
``--no-validation`` drops the per-epoch validation on 50 test images that the lab's fits do.
``--prebuilt`` builds each fresh optimizer before its fit, as fast mode does in grading (one
trace of each training step instead of two). The last line gives the process's CPU seconds:
on N cores no grader can go past N * 3600 / that many submissions an hour.
"""
import resource
import sys
import time
from pathlib import Path

import numpy as np

start = time.monotonic()
import keras  # noqa: E402
from keras import layers  # noqa: E402

VALIDATE = "--no-validation" not in sys.argv
PREBUILT = "--prebuilt" in sys.argv
with np.load(Path(__file__).resolve().parent.parent / "assignment" / "tl_cifar10_sample.npz") as d:
    x, y = d["x_train"][:64].astype("float32"), keras.utils.to_categorical(d["y_train"][:64], 10)
    xv, yv = d["x_test"][:50].astype("float32"), keras.utils.to_categorical(d["y_test"][:50], 10)
val = {"validation_data": (xv, yv)} if VALIDATE else {}

keras.utils.set_random_seed(0)
base = keras.applications.EfficientNetV2B0(include_top=False, weights=None, input_shape=(32, 32, 3))
base.trainable = False
model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dropout(0.3),
                          layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.CategoricalCrossentropy(),
              metrics=[keras.metrics.CategoricalAccuracy()])


def fit(**epochs):
    if PREBUILT:
        model.optimizer.build(model.trainable_variables)
    model.fit(x, y, batch_size=64, verbose=0, **epochs, **val)


fit(epochs=15)
base.trainable = True
for layer in base.layers[:-40]:
    layer.trainable = False
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.CategoricalCrossentropy(),
              metrics=[keras.metrics.CategoricalAccuracy()])
fit(epochs=25, initial_epoch=15)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"floor done in {time.monotonic() - start:.1f} s; {usage.ru_utime + usage.ru_stime:.1f} CPU s, "
      f"{usage.ru_maxrss / 1024:.0f} MB")
