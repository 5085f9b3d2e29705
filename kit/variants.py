"""Write the reference submissions: the solution, the blank template, and variants of the solution.

    python -m kit variants        # rewrites submissions/*.ipynb|zip from solution/ and student_template/

Each variant is the solution with one edit a student really makes, named after it:
``a*``-``e*`` are the mistakes of ``shared/MISTAKES.md``, ``x*`` are more of our own, and
``ok*`` are equivalent ways of doing the lab that must keep full marks, most of them a few to a notebook
(``EQUIVALENT_GROUPS``); the tamperings ``t2``-``t12`` and the run-time forgeries ``r1``-``r12`` are each graded in
one shared notebook, a route to a cell (``SHARED``). Their expected points are in
``submissions/expected_grades.csv``, written by hand from the lab's meaning.
Every ``old`` text must occur exactly once, so a change to the master breaks loudly here. Only the
solution's copies carry the lab files in their set-up cell, as a student's notebook does; the others
are lean (``LAB_FILES = ""``), which grades the same.
"""
import argparse
import shutil
import zipfile
from pathlib import Path

import nbformat

from kit import cli, embed, paths

FREEZE = "base_model.trainable = False  # congela la base"
UNFREEZE = "base_model.trainable = True\n"
REFREEZE = "for layer in base_model.layers[:fine_tune_at]:\n    layer.trainable = False"
RECOMPILE = "optimizer=keras.optimizers.Adam(learning_rate=1e-5),  # ¡LR muy bajo!"
INITIAL_EPOCH = "initial_epoch=history.epoch[-1] + 1"
BASELINE = "loss_baseline, accuracy_baseline = model.evaluate(x_test, y_test_cat, verbose=0)"
IMPROVEMENT = "improvement = accuracy_finetune - accuracy_baseline"
ACC = "acc = history.history['val_categorical_accuracy'] + history_fine_tune.history['val_categorical_accuracy']"
LOSS = "loss = history.history['val_loss'] + history_fine_tune.history['val_loss']"
LINE = "plt.plot([initial_epochs-1, initial_epochs-1], plt.ylim(), label='Inicio del Fine-Tuning', linestyle='--')"
HEAD = """    layers.GlobalAveragePooling2D(),
    layers.Dropout(0.3),
    layers.Dense(num_classes, activation="softmax")"""
COMPILE1 = """    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.CategoricalCrossentropy(),
    metrics=[keras.metrics.CategoricalAccuracy()]"""
PLOT = "plt.figure(figsize=(8, 8))"

# name -> list of (old, new); `old` occurs once in the solution's code, `count` overrides.
VARIANTS = {
    # -- phase 1 ----------------------------------------------------------------
    "a1_base_not_frozen": [(FREEZE, "")],
    "a2_whole_model_frozen": [(FREEZE, ""), ('], name="finetuning_lab_model")',
                                             '], name="finetuning_lab_model")\nmodel.trainable = False')],
    "a3_weights_none": [("weights='imagenet',", "weights=None,")],
    "a4_pixels_scaled_to_unit": [('x_train = x_train.astype("float32")', 'x_train = x_train.astype("float32") / 255'),
                                 ('x_test = x_test.astype("float32")', 'x_test = x_test.astype("float32") / 255')],
    "a5_flatten_instead_of_gap": [("layers.GlobalAveragePooling2D(),", "layers.Flatten(),")],
    "a5_no_dropout": [("    layers.Dropout(0.3),\n", "")],
    "a5_dense_without_softmax": [('layers.Dense(num_classes, activation="softmax")', "layers.Dense(num_classes)")],
    "a6_integer_labels": [("y_train_cat = keras.utils.to_categorical(y_train, num_classes)", "y_train_cat = y_train"),
                          ("y_test_cat = keras.utils.to_categorical(y_test, num_classes)", "y_test_cat = y_test")],
    # -- phase 2 ----------------------------------------------------------------
    "b1_refreeze_model_layers_not_base": [(REFREEZE, "for layer in model.layers[:fine_tune_at]:\n    layer.trainable = False")],
    "b2_base_never_unfrozen": [(UNFREEZE, "")],
    "b3_refreeze_off_by_one": [(REFREEZE, "for layer in base_model.layers[:-41]:\n    layer.trainable = False")],
    "b3_freeze_first_40_only": [(REFREEZE, "for layer in base_model.layers[:40]:\n    layer.trainable = False")],
    "b3_only_layer_minus_40_unfrozen": [(REFREEZE, "for layer in base_model.layers:\n    layer.trainable = False\n"
                                                   "base_model.layers[-40].trainable = True")],
    "b4_no_recompile": [("model.compile(\n    " + RECOMPILE + """
    loss=keras.losses.CategoricalCrossentropy(),
    metrics=[keras.metrics.CategoricalAccuracy()]
)
""", "")],
    "b5_recompile_default_lr": [(RECOMPILE, "optimizer=keras.optimizers.Adam(),")],
    "b5_recompile_lr_1e-4": [(RECOMPILE, "optimizer=keras.optimizers.Adam(learning_rate=1e-4),")],
    # -- epochs -------------------------------------------------------------------
    "c1_initial_epoch_off_by_one": [(INITIAL_EPOCH, "initial_epoch=history.epoch[-1]")],
    "c2_epochs_10_from_15": [("epochs=total_epochs,", "epochs=fine_tune_epochs,")],
    "c3_no_initial_epoch": [("epochs=total_epochs,", "epochs=fine_tune_epochs,"),
                            ("validation_data=(x_test, y_test_cat),\n    " + INITIAL_EPOCH,
                             "validation_data=(x_test, y_test_cat)")],
    # -- plot ---------------------------------------------------------------------
    "d1_no_boundary_line": [(LINE + "\n", "", 2)],
    "d1_line_on_accuracy_plot_only": [("plt.plot(loss, label='Pérdida en Validación')\n" + LINE,
                                       "plt.plot(loss, label='Pérdida en Validación')")],
    "d2_line_far_from_boundary": [(LINE, "plt.axvline(5, linestyle='--', label='Inicio del Fine-Tuning')", 2)],
    "d3_training_curves_plotted": [(ACC, "acc = history.history['categorical_accuracy'] + history_fine_tune.history['categorical_accuracy']"),
                                   (LOSS, "loss = history.history['loss'] + history_fine_tune.history['loss']")],
    # -- evaluation ---------------------------------------------------------------
    "e1_baseline_on_train_set": [(BASELINE, "loss_baseline, accuracy_baseline = model.evaluate(x_train, y_train_cat, verbose=0)")],
    "e2_loss_and_accuracy_swapped": [(BASELINE, "accuracy_baseline, loss_baseline = model.evaluate(x_test, y_test_cat, verbose=0)"),
                                     ("loss_finetune, accuracy_finetune = model.evaluate",
                                      "accuracy_finetune, loss_finetune = model.evaluate")],
    "e3_improvement_final_minus_final": [(IMPROVEMENT, "improvement = accuracy_finetune - accuracy_finetune")],
    "e3_improvement_as_ratio": [(IMPROVEMENT, "improvement = accuracy_finetune / accuracy_baseline")],
    # -- more mistakes of our own -------------------------------------------------------
    "x1_new_base_unfrozen_not_the_models": [(UNFREEZE, "base_model = keras.applications.EfficientNetV2B0(\n"
                                             "    include_top=False, weights='imagenet', input_shape=INPUT_SHAPE)\n"
                                             "base_model.trainable = True\n")],
    "x2_sparse_labels_and_loss": [("y_train_cat = keras.utils.to_categorical(y_train, num_classes)", "y_train_cat = y_train"),
                                  ("y_test_cat = keras.utils.to_categorical(y_test, num_classes)", "y_test_cat = y_test"),
                                  ("loss=keras.losses.CategoricalCrossentropy(),", "loss=keras.losses.SparseCategoricalCrossentropy(),", 2),
                                  ("metrics=[keras.metrics.CategoricalAccuracy()]", "metrics=['accuracy']", 2),
                                  ("'val_categorical_accuracy'", "'val_accuracy'", 2)],
    "x3_baseline_evaluated_after_fine_tuning": [(BASELINE + "\n", ""),
                                                ("loss_finetune, accuracy_finetune = model.evaluate(x_test, y_test_cat, verbose=0)",
                                                 "loss_finetune, accuracy_finetune = model.evaluate(x_test, y_test_cat, verbose=0)\n"
                                                 + BASELINE)],
    "x4_fine_tune_sgd_optimizer": [(RECOMPILE, "optimizer=keras.optimizers.SGD(learning_rate=1e-5),")],
    "x5_head_trained_logits_loss": [('layers.Dense(num_classes, activation="softmax")', "layers.Dense(num_classes)"),
                                    ("loss=keras.losses.CategoricalCrossentropy(),",
                                     "loss=keras.losses.CategoricalCrossentropy(from_logits=True),", 2)],
    "x6_phase2_fit_on_new_model": [("history_fine_tune = model.fit(", "model2 = keras.models.clone_model(model)\n"
                                    "model2.compile(optimizer=keras.optimizers.Adam(1e-5), loss='categorical_crossentropy',"
                                    " metrics=['categorical_accuracy'])\nhistory_fine_tune = model2.fit(")],
    # -- settings that contradict each other (issue: judge settings together) ---------------------
    "x7_from_logits_with_softmax_head": [("loss=keras.losses.CategoricalCrossentropy(),",
                                          "loss=keras.losses.CategoricalCrossentropy(from_logits=True),", 2)],
    "x8_no_preprocessing_with_0_255_images": [("weights='imagenet',", "weights='imagenet',\n    include_preprocessing=False,")],
    "x13_images_rescaled_for_a_base_that_rescales": [('x_train = x_train.astype("float32")', 'x_train = x_train.astype("float32") / 127.5 - 1'),
                                                     ('x_test = x_test.astype("float32")', 'x_test = x_test.astype("float32") / 127.5 - 1')],
    "x9_from_logits_in_phase2_only": [(RECOMPILE + "\n    loss=keras.losses.CategoricalCrossentropy(),",
                                       RECOMPILE + "\n    loss=keras.losses.CategoricalCrossentropy(from_logits=True),")],
    # -- numbers from the wrong evaluation (judged by where they came from) -------------------------
    "x10_baseline_best_epoch_not_final": [(BASELINE, "accuracy_baseline = max(history.history['val_categorical_accuracy'])")],
    "x11_finetune_from_phase1_history": [("loss_finetune, accuracy_finetune = model.evaluate(x_test, y_test_cat, verbose=0)",
                                          "accuracy_finetune = history.history['val_categorical_accuracy'][-1]")],
    "x12_improvement_helper_arguments_swapped": [(IMPROVEMENT, "def calcular_mejora(base, final):\n    return final - base\n\n"
                                                  "improvement = calcular_mejora(accuracy_finetune, accuracy_baseline)")],
    # -- equivalent ways: full marks --------------------------------------------------------
    "ok1_inplace_concatenation": [(ACC, "acc = history.history['val_categorical_accuracy']\n"
                                        "acc += history_fine_tune.history['val_categorical_accuracy']"),
                                  (LOSS, "loss = history.history['val_loss']\nloss += history_fine_tune.history['val_loss']")],
    "ok2_axvline_one_based": [("plt.plot(acc, label=", "plt.plot(range(1, 26), acc, label="),
                              ("plt.plot(loss, label=", "plt.plot(range(1, 26), loss, label="),
                              (LINE, "plt.axvline(15.5, linestyle='--', label='Inicio del Fine-Tuning')", 2)],
    "ok2_vlines_percent_one_based": [("plt.plot(acc, label=", "plt.plot(range(1, 26), [a * 100 for a in acc], label="),
                                     ("plt.plot(loss, label=", "plt.plot(range(1, 26), loss, label="),
                                     (LINE, "plt.gca().vlines(15, *plt.ylim(), linestyles='--', label='Inicio del Fine-Tuning')", 2)],
    "ok3_batchnorm_kept_frozen": [(REFREEZE, REFREEZE + "\nfor layer in base_model.layers[fine_tune_at:]:\n"
                                   "    if isinstance(layer, layers.BatchNormalization):\n        layer.trainable = False")],
    "ok4_functional_api": [("""model = keras.Sequential([
    base_model,
    # Cabeza: GlobalAveragePooling2D, Dropout(0.3) y Dense(10) con softmax
""" + HEAD + """
], name="finetuning_lab_model")""", """inputs = keras.Input(shape=INPUT_SHAPE)
x = base_model(inputs, training=False)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.3)(x)
outputs = layers.Dense(num_classes, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="finetuning_lab_model")""")],
    "ok5_initial_epoch_len_history": [(INITIAL_EPOCH, "initial_epoch=len(history.epoch)")],
    "ok6_string_loss_and_accuracy_metric": [(COMPILE1, """    optimizer='adam',
    loss='categorical_crossentropy',
    metrics=['accuracy']"""), ("metrics=[keras.metrics.CategoricalAccuracy()]", "metrics=['accuracy']"),
                                            ("'val_categorical_accuracy'", "'val_accuracy'", 2)],
    "ok7_baseline_from_predict": [(BASELINE, "predictions = model.predict(x_test, verbose=0)\n"
                                   "accuracy_baseline = float(np.mean(np.argmax(predictions, axis=1) == y_test.ravel()))")],
    "ok8_softmax_as_separate_layer": [('layers.Dense(num_classes, activation="softmax")',
                                       'layers.Dense(num_classes),\n    layers.Activation("softmax")')],
    "ok9_subplots_axes_api": [(PLOT, "fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 8))"),
                              ("plt.subplot(2, 1, 1)\nplt.plot(acc,", "ax1.plot(acc,"),
                              ("plt.subplot(2, 1, 2)\nplt.plot(loss,", "ax2.plot(loss,"),
                              (LINE + "\nplt.legend(loc='lower right')", "ax1.axvline(initial_epochs - 1, linestyle='--')\nplt.sca(ax1)\nplt.legend(loc='lower right')"),
                              (LINE + "\nplt.legend(loc='upper right')", "ax2.axvline(initial_epochs - 1, linestyle='--')\nplt.sca(ax2)\nplt.legend(loc='upper right')")],
    # the same values in other containers, and settings that agree with each other
    "ok10_labels_as_tensors": [("y_train_cat = keras.utils.to_categorical(y_train, num_classes)",
                                "y_train_cat = tf.one_hot(y_train.ravel(), num_classes)"),
                               ("y_test_cat = keras.utils.to_categorical(y_test, num_classes)",
                                "y_test_cat = tf.one_hot(y_test.ravel(), num_classes)")],
    "ok11_images_as_tensors": [('x_train = x_train.astype("float32")', "x_train = tf.convert_to_tensor(x_train, dtype=tf.float32)"),
                               ('x_test = x_test.astype("float32")', "x_test = tf.convert_to_tensor(x_test, dtype=tf.float32)")],
    "ok12_loss_and_metric_as_functions": [("loss=keras.losses.CategoricalCrossentropy(),",
                                           "loss=keras.losses.categorical_crossentropy,", 2),
                                          ("metrics=[keras.metrics.CategoricalAccuracy()]",
                                           "metrics=[keras.metrics.categorical_accuracy]", 2)],
    "ok13_no_preprocessing_images_rescaled": [("weights='imagenet',", "weights='imagenet',\n    include_preprocessing=False,"),
                                              ('x_train = x_train.astype("float32")', 'x_train = x_train.astype("float32") / 127.5 - 1'),
                                              ('x_test = x_test.astype("float32")', 'x_test = x_test.astype("float32") / 127.5 - 1')],
    # numbers traced to the right evaluation, whatever way they were taken
    "ok14_finetune_from_phase2_history": [("loss_finetune, accuracy_finetune = model.evaluate(x_test, y_test_cat, verbose=0)",
                                           "accuracy_finetune = history_fine_tune.history['val_categorical_accuracy'][-1]")],
    "ok15_improvement_points_via_intermediate": [(IMPROVEMENT, "diferencia = accuracy_finetune - accuracy_baseline\n"
                                                  "improvement = round(diferencia * 100, 2)")],
    "ok16_baseline_from_evaluate_dict": [(BASELINE, "resultados = model.evaluate(x_test, y_test_cat, verbose=0, return_dict=True)\n"
                                          "loss_baseline, accuracy_baseline = resultados['loss'], resultados['categorical_accuracy']")],
}


# -- honest grading, second round: what the fit consumed, every branch of a formula, what phase 2 trained,
# the rate that trained, settings by what they compute ---------------------------------------------------------
FIT1 = """history = model.fit(
    x_train,
    y_train_cat,
    epochs=initial_epochs,
    validation_data=(x_test, y_test_cat)
)"""
FIT2 = """history_fine_tune = model.fit(
    x_train,
    y_train_cat,
    epochs=total_epochs,
    validation_data=(x_test, y_test_cat),
    initial_epoch=history.epoch[-1] + 1
)"""
EVALUATE = "model.evaluate(x_test, y_test_cat, verbose=0)"


def _pipeline(train: str, test: str = "tf.data.Dataset.from_tensor_slices((x_test, y_test_cat)).batch(32)") -> list:
    """Both fits and both evaluations on tf.data pipelines: ``train`` and ``test`` build them."""
    return [(FIT1, f"entrenamiento = {train}\nprueba = {test}\n"
                   "history = model.fit(\n    entrenamiento,\n    epochs=initial_epochs,\n    validation_data=prueba\n)"),
            (FIT2, "history_fine_tune = model.fit(\n    entrenamiento,\n    epochs=total_epochs,\n"
                   "    validation_data=prueba,\n    initial_epoch=history.epoch[-1] + 1\n)"),
            (EVALUATE, "model.evaluate(prueba, verbose=0)", 2)]


SLICES = "tf.data.Dataset.from_tensor_slices((x_train, y_train_cat))"
LOTES = """class Lotes(keras.utils.PyDataset):
    def __init__(self, x, y, lote=32, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.lote = x, y, lote

    def __len__(self):
        return int(np.ceil(len(self.x) / self.lote))

    def __getitem__(self, i):
        return self.x[i * self.lote:(i + 1) * self.lote], self.y[i * self.lote:(i + 1) * self.lote]

"""
GENERATOR = """def lotes(x, y, lote=32):
    while True:
        for i in range(0, len(x), lote):
            yield x[i:i + lote], y[i:i + lote]

pasos = int(np.ceil(len(x_train) / 32))
"""
PHASE2_CALLBACKS = "    initial_epoch=history.epoch[-1] + 1\n)"
VARIANTS.update({
    # 1. data fed through a pipeline: judged by the elements it yields
    "ok18_tf_data_pipeline": _pipeline(f"{SLICES}.shuffle(1000, seed=0).batch(32)"),
    "ok19_pydataset_batches": [
        (FIT1, LOTES + FIT1.replace("x_train,\n    y_train_cat,", "Lotes(x_train, y_train_cat),")
         .replace("(x_test, y_test_cat)", "Lotes(x_test, y_test_cat)")),
        (FIT2, FIT2.replace("x_train,\n    y_train_cat,", "Lotes(x_train, y_train_cat),")
         .replace("(x_test, y_test_cat)", "Lotes(x_test, y_test_cat)"))],
    "ok20_generator_with_steps_per_epoch": [
        (FIT1, GENERATOR + FIT1.replace("x_train,\n    y_train_cat,", "lotes(x_train, y_train_cat),\n    steps_per_epoch=pasos,")),
        (FIT2, FIT2.replace("x_train,\n    y_train_cat,", "lotes(x_train, y_train_cat),\n    steps_per_epoch=pasos,"))],
    "x14_pipeline_rescales_to_unit": _pipeline(
        f"{SLICES}.map(lambda x, y: (x / 255.0, y)).batch(32)",
        "tf.data.Dataset.from_tensor_slices((x_test, y_test_cat)).map(lambda x, y: (x / 255.0, y)).batch(32)"),
    "x15_pipeline_takes_one_batch": _pipeline(f"{SLICES}.batch(32).take(1)"),
    "x16_pipeline_labels_shuffled_apart": _pipeline(
        "tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(x_train),\n"
        "                     tf.data.Dataset.from_tensor_slices(y_train_cat).shuffle(1000, seed=0))).batch(32)"),
    # 2. a formula with a branch, right on 0.25 -> 0.75 and on this run's numbers, wrong elsewhere
    "x17_improvement_abs": [(IMPROVEMENT, "improvement = abs(accuracy_finetune - accuracy_baseline)")],
    "x18_improvement_clipped_at_zero": [(IMPROVEMENT, "improvement = max(accuracy_finetune - accuracy_baseline, 0)")],
    "x19_improvement_zero_unless_better": [(IMPROVEMENT, "if accuracy_finetune > accuracy_baseline:\n"
                                                         "    improvement = accuracy_finetune - accuracy_baseline\n"
                                                         "else:\n    improvement = 0")],
    # 3. phase 2 trains the head as well as the last 40 layers of the base
    "x20_head_frozen_for_fine_tuning": [(REFREEZE, REFREEZE + "\nfor layer in model.layers[1:]:\n    layer.trainable = False")],
    "x21_output_layer_frozen_in_phase2": [(REFREEZE, REFREEZE + "\nmodel.layers[-1].trainable = False")],
    "x22_model_layers_frozen_then_base_unfrozen": [(UNFREEZE, "for layer in model.layers:\n    layer.trainable = False\n"
                                                              + UNFREEZE)],
    "ok22_dropout_frozen_head_still_trains": [(REFREEZE, REFREEZE + "\nmodel.layers[2].trainable = False  # Dropout: sin pesos")],
    # 4. the rate that trained, over the whole fit
    "x23_scheduler_raises_rate_in_fine_tuning": [(PHASE2_CALLBACKS, "    initial_epoch=history.epoch[-1] + 1,\n"
                                                  "    callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3)]\n)")],
    "x24_callback_assigns_rate_at_train_begin": [(PHASE2_CALLBACKS, "    initial_epoch=history.epoch[-1] + 1,\n"
                                                  "    callbacks=[Acelerar()]\n)"),
                                                 ("fine_tune_epochs = 10\n", "fine_tune_epochs = 10\n\n"
                                                  "class Acelerar(keras.callbacks.Callback):\n"
                                                  "    def on_train_begin(self, logs=None):\n"
                                                  "        self.model.optimizer.learning_rate = 1e-4\n\n")],
    "x25_schedule_decay_rate_above_one": [(RECOMPILE, "optimizer=keras.optimizers.Adam(learning_rate=keras.optimizers.schedules"
                                           ".ExponentialDecay(1e-5, decay_steps=1, decay_rate=2.0)),")],
    "ok23_scheduler_sets_1e-5": [(RECOMPILE, "optimizer=keras.optimizers.Adam(learning_rate=1e-4),"),
                                 (PHASE2_CALLBACKS, "    initial_epoch=history.epoch[-1] + 1,\n"
                                  "    callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-5)]\n)")],
    # 5. settings judged by what they compute
    "ok25_softmax_as_tf_nn_function": [('layers.Dense(num_classes, activation="softmax")',
                                        "layers.Dense(num_classes, activation=tf.nn.softmax)")],
    "ok26_loss_as_lambda": [("loss=keras.losses.CategoricalCrossentropy(),",
                             "loss=lambda y_true, y_pred: keras.losses.categorical_crossentropy(y_true, y_pred),", 2)],
    "ok27_adam_subclass": [("optimizer=keras.optimizers.Adam(),", "optimizer=AdamLab(),"),
                           (RECOMPILE, "optimizer=AdamLab(learning_rate=1e-5),"),
                           ("INPUT_SHAPE = (32, 32, 3)\n", "INPUT_SHAPE = (32, 32, 3)\n\n"
                            "class AdamLab(keras.optimizers.Adam):\n    pass\n\n")],
    "x26_own_softmax_over_the_batch_axis": [('layers.Dense(num_classes, activation="softmax")',
                                             "layers.Dense(num_classes, activation=softmax)"),
                                            ("INPUT_SHAPE = (32, 32, 3)\n", "INPUT_SHAPE = (32, 32, 3)\n\n"
                                             "def softmax(z):\n    return tf.nn.softmax(z, axis=0)\n\n")],
    "x27_loss_with_label_smoothing": [("""    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.CategoricalCrossentropy(),""", """    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),""")],
})

# Honest grading, third round. 1. The rate the weights imply: a rate raised for each step and restored before
# anyone reads it (every read says 1e-5; the weights move as at 1e-3).
PER_STEP = "fine_tune_epochs = 10\n"
VARIANTS.update({
    "x28_rate_raised_for_each_step": [
        (PHASE2_CALLBACKS, "    initial_epoch=history.epoch[-1] + 1,\n    callbacks=[Acelerar()]\n)"),
        (PER_STEP, PER_STEP + "\nclass Acelerar(keras.callbacks.Callback):\n"
                              "    def on_train_batch_begin(self, batch, logs=None):\n"
                              "        self.model.optimizer.learning_rate.assign(1e-3)\n\n"
                              "    def on_train_batch_end(self, batch, logs=None):\n"
                              "        self.model.optimizer.learning_rate.assign(1e-5)\n\n")],
    "x29_lambda_callback_raises_rate_per_batch": [
        (PHASE2_CALLBACKS, "    initial_epoch=history.epoch[-1] + 1,\n    callbacks=[keras.callbacks.LambdaCallback(\n"
                           "        on_train_batch_begin=lambda batch, logs: model.optimizer.learning_rate.assign(1e-3),\n"
                           "        on_train_batch_end=lambda batch, logs: model.optimizer.learning_rate.assign(1e-5))]\n)")],
    "x30_rate_raised_on_even_steps": [
        (PHASE2_CALLBACKS, "    initial_epoch=history.epoch[-1] + 1,\n    callbacks=[Pares()]\n)"),
        (PER_STEP, PER_STEP + "\nclass Pares(keras.callbacks.Callback):\n"
                              "    def on_train_batch_begin(self, batch, logs=None):\n"
                              "        if int(self.model.optimizer.iterations) % 2 == 0:\n"
                              "            self.model.optimizer.learning_rate = 1e-3\n\n"
                              "    def on_train_batch_end(self, batch, logs=None):\n"
                              "        self.model.optimizer.learning_rate = 1e-5\n\n")],
    "ok28_rate_decayed_at_each_step": [
        (PHASE2_CALLBACKS, "    initial_epoch=history.epoch[-1] + 1,\n    callbacks=[keras.callbacks.LambdaCallback(\n"
                           "        on_train_batch_begin=lambda batch, logs: model.optimizer.learning_rate.assign(\n"
                           "            1e-5 * 0.9 ** int(model.optimizer.iterations)))]\n)")],
    # 2. Phase 2 consumes what phase 1 did.
    "x31_phase2_on_test_set": [(FIT2, FIT2.replace("    x_train,\n    y_train_cat,", "    x_test,\n    y_test_cat,"))],
    "x32_phase2_on_first_half": [(FIT2, "mitad = len(x_train) // 2\n" + FIT2.replace(
        "    x_train,\n    y_train_cat,", "    x_train[:mitad],\n    y_train_cat[:mitad],"))],
    "x33_phase2_labels_shuffled": [(FIT2, "y_barajadas = y_train_cat[np.random.default_rng(0).permutation(len(y_train_cat))]\n"
                                    + FIT2.replace("    y_train_cat,", "    y_barajadas,"))],
    "ok29_phase2_on_a_shuffled_copy": [(FIT2, "orden = np.random.default_rng(0).permutation(len(x_train))\n" + FIT2.replace(
        "    x_train,\n    y_train_cat,", "    x_train[orden],\n    y_train_cat[orden],"))],
    # 3. Formulas only the probe tells apart: graded from a virtual environment under /tmp too
    # (tests/test_probe_from_tmp_venv.py), where the probe's interpreter once was out of its sandbox's sight.
    "x34_improvement_np_clip": [(IMPROVEMENT, "improvement = np.clip(accuracy_finetune - accuracy_baseline, 0, None)")],
    "x35_improvement_sqrt_of_square": [(IMPROVEMENT, "improvement = np.sqrt((accuracy_finetune - accuracy_baseline) ** 2)")],
    "x36_improvement_where_positive": [(IMPROVEMENT, "diferencia = accuracy_finetune - accuracy_baseline\n"
                                                     "improvement = np.where(diferencia > 0, diferencia, 0.0)")],
})


# Honest grading, fourth round. 1. Every fit of the lab's model counts, each judged by the phase it belongs to; a fit
# of another model is not the lab's; weights trained outside a fit are charged to the phase they change.
WARM_UP = ("model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.CategoricalCrossentropy(),\n"
           "              metrics=[keras.metrics.CategoricalAccuracy()])\n")
RESTO = "for clave, valores in resto.history.items():\n    {history}.history[clave] += valores\n"
VARIANTS.update({
    "x37_warm_up_fit_unfrozen_at_default_rate": [
        (REFREEZE, REFREEZE + "\n\n" + WARM_UP + "model.fit(x_train, y_train_cat, epochs=2, verbose=0)  # calentamiento")],
    "x38_five_more_head_epochs_before_the_baseline": [
        (BASELINE, "model.fit(x_train, y_train_cat, epochs=initial_epochs + 5, initial_epoch=initial_epochs,\n"
                   "          validation_data=(x_test, y_test_cat), verbose=0)  # cinco épocas más\n" + BASELINE)],
    "x39_train_on_batch_between_the_phases": [
        (REFREEZE, REFREEZE + "\n\n" + WARM_UP.replace("Adam()", "Adam(1e-3)") + "for _ in range(3):\n"
                   "    model.train_on_batch(x_train[:32], y_train_cat[:32])")],
    "ok30_phase1_split_in_two_fits": [
        (FIT1, FIT1.replace("epochs=initial_epochs,", "epochs=10,") + "\nresto = model.fit(\n    x_train,\n"
               "    y_train_cat,\n    epochs=initial_epochs,\n    initial_epoch=10,\n"
               "    validation_data=(x_test, y_test_cat)\n)\n" + RESTO.format(history="history")
               + "history.epoch += resto.epoch")],
    "ok31_a_scratch_model_of_ones_own": [
        (BASELINE, "prueba_rapida = keras.Sequential([layers.Input(INPUT_SHAPE), layers.Flatten(),\n"
                   "                                 layers.Dense(num_classes, activation='softmax')])\n"
                   "prueba_rapida.compile(optimizer='adam', loss='categorical_crossentropy')\n"
                   "prueba_rapida.fit(x_train[:32], y_train_cat[:32], epochs=1, verbose=0)\n" + BASELINE)],
    "ok32_phase2_split_in_two_fits": [
        (FIT2, FIT2.replace("epochs=total_epochs,", "epochs=20,") + "\nresto = model.fit(\n    x_train,\n"
               "    y_train_cat,\n    epochs=total_epochs,\n    validation_data=(x_test, y_test_cat),\n"
               "    initial_epoch=20\n)\n" + RESTO.format(history="history_fine_tune").rstrip("\n"))],
    # 2. Phase 2 validates on the test set, as phase 1: judged by value with q1's rules.
    "x40_phase2_validates_on_training_set": [
        (FIT2, FIT2.replace("validation_data=(x_test, y_test_cat)", "validation_data=(x_train, y_train_cat)"))],
    "x41_phase2_validation_split": [
        (FIT2, FIT2.replace("validation_data=(x_test, y_test_cat)", "validation_split=0.2"))],
    "x42_phase2_validation_labels_shuffled": [
        (FIT2, "y_prueba = y_test_cat[np.random.default_rng(0).permutation(len(y_test_cat))]\n"
               + FIT2.replace("validation_data=(x_test, y_test_cat)", "validation_data=(x_test, y_prueba)"))],
    "ok33_phase2_validates_on_a_shuffled_test_copy": [
        (FIT2, "orden = np.random.default_rng(1).permutation(len(x_test))\n"
               + FIT2.replace("validation_data=(x_test, y_test_cat)", "validation_data=(x_test[orden], y_test_cat[orden])"))],
    # 3. The optimizer judged by what it does: Adam that clips its gradients, or wrapped to scale the loss, is Adam.
    "ok34_phase2_adam_clipnorm": [(RECOMPILE, "optimizer=keras.optimizers.Adam(learning_rate=1e-5, clipnorm=1.0),")],
    "ok35_phase2_loss_scale_optimizer": [
        (RECOMPILE, "optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=1e-5)),")],
    "ok36_phase1_adam_clipvalue": [("optimizer=keras.optimizers.Adam(),", "optimizer=keras.optimizers.Adam(clipvalue=0.5),")],
    "x43_phase2_adam_with_an_update_of_its_own": [
        (RECOMPILE, "optimizer=AdamDoble(learning_rate=1e-5),"),
        ("INPUT_SHAPE = (32, 32, 3)\n", "INPUT_SHAPE = (32, 32, 3)\n\nclass AdamDoble(keras.optimizers.Adam):\n"
         "    def update_step(self, gradient, variable, learning_rate):\n"
         "        super().update_step(gradient, variable, learning_rate * 2)\n\n")],
})

# -- tampering: b5's wrong learning rate (q4 loses a point), plus code that reaches into grading to win it back.
# Each must end as a row flagged for review; the checks load from their files, so some also forge nothing.
TAMPERED = RECOMPILE, "optimizer=keras.optimizers.Adam(learning_rate=1e-4),"
AFTER_PHASE2 = INITIAL_EPOCH + "\n)"


def _tampering(code: str) -> list:
    return [TAMPERED, (AFTER_PHASE2, AFTER_PHASE2 + "\n" + code)]


TAMPERING = {
    "t1_checks_function_replaced": "import tl_checks\ntl_checks.check_phase2_optimizer = lambda: None",
    "t2_audit_record_rewritten": "from tl_audit import AUDIT\nAUDIT.model_fits()[-1].learning_rate = 1e-5",
    "t3_numpy_isclose_patched": "np.isclose = lambda *args, **kwargs: True",
    "t4_otter_results_patched": ("from otter.test_files import exception_test\n"
                                 "_run = exception_test.ExceptionTestFile.run\n\n"
                                 "def run(self, global_environment):\n"
                                 "    _run(self, global_environment)\n"
                                 "    for result in self.test_case_results:\n"
                                 "        result.passed = True\n\n"
                                 "exception_test.ExceptionTestFile.run = run"),
    "t5_sys_modules_swapped": ("import sys, types\nfalso = types.ModuleType('tl_checks')\n"
                               "falso.__getattr__ = lambda name: (lambda *args, **kwargs: None)\n"
                               "sys.modules['tl_checks'] = falso"),
    "t6_checks_file_appended": ("with open('tl_checks.py', 'a') as f:\n"
                                "    f.write('\\ndef check_phase2_optimizer():\\n    pass\\n')"),
    "t7_checks_file_name_computed": ("nombre = ''.join(map(chr, [116, 108, 95, 99, 104, 101, 99, 107, 115, 46, 112, 121]))\n"
                                     "with open(nombre, 'a') as f:\n"
                                     "    f.write('\\ndef check_phase2_optimizer():\\n    pass\\n')"),
    "t8_shell_escape_rewrites_checks": "!printf '\\ndef check_phase2_optimizer():\\n    pass\\n' >> tl_checks.py",
    "t9_exec_of_encoded_patch": "import base64\nexec(base64.b64decode('bnAuaXNjbG9zZSA9IGxhbWJkYSAqYXJncywgKiprd2FyZ3M6IFRydWU=').decode())",
    "t10_setattr_on_numpy": "setattr(np, 'isclose', lambda *args, **kwargs: True)",
    "t11_audit_found_through_gc": ("import gc\nfor objeto in gc.get_objects():\n"
                                   "    if type(objeto).__name__ == 'FitRecord':\n"
                                   "        objeto.learning_rate = 1e-5"),
    "t12_audit_reached_through_globals": ("registro = keras.Model.fit.__globals__['AUDIT']\n"
                                          "registro.model_fits()[-1].learning_rate = 1e-5"),
}
VARIANTS.update({name: _tampering(code) for name, code in TAMPERING.items()})
# t2-t12 share a run: b5 with each payload in a cell of its own after phase 2's fit (an error in one stops no other),
# the sys.modules swap last so that every other one reaches the real modules. test_tampering flags each at its own
# line; this run shows that all of them at once win no point and the row is held. t1 keeps a run of its own: other
# tests grade it as a class's flagged student.
SHARED_TAMPERING = "t2_static_routes_each_in_its_own_cell"
SHARED_ROUTES = ("t2_audit_record_rewritten", "t3_numpy_isclose_patched", "t4_otter_results_patched",
                 "t6_checks_file_appended", "t7_checks_file_name_computed", "t8_shell_escape_rewrites_checks",
                 "t9_exec_of_encoded_patch", "t10_setattr_on_numpy", "t11_audit_found_through_gc",
                 "t12_audit_reached_through_globals", "t5_sys_modules_swapped")

# Run-time forgeries: the payload is only data until it runs, so the scan reads nothing it knows; each takes
# another route. The verdict is made outside the kernel and the recorder reports the route as it is taken.
_PATCH = "import numpy\\nnumpy.isclose = lambda *a, **k: True\\n"
_NO_OP_CHECK = "\\ndef check_phase2_optimizer():\\n    pass\\n"
RUNTIME_TAMPERING = {
    "r1_module_written_then_imported": ("from pathlib import Path\n"
                                        f"Path('parche.py').write_text('{_PATCH}')\nimport parche"),
    "r2_subprocess_appends_to_checks": ("import subprocess\n"
                                        "subprocess.run(['sh', '-c', bytes.fromhex('7072696e746620275c6e64656620636865636b5f7068617365325f6f7074696d697a657228293a5c6e20202020706173735c6e27203e3e20746c5f636865636b732e7079').decode()])"),
    "r3_pickle_payload_in_npy": ("with open('datos.npy', 'wb') as f:\n    f.write(bytes.fromhex('636275696c74696e730a657865630a2856696d706f7274206e756d70795c75303030616e756d70792e6973636c6f7365203d206c616d626461202a612c202a2a6b3a20547275655c75303030610a74522e'))\n"
                                 "np.load('datos.npy', allow_pickle=True)"),
    "r4_timeit_runs_assembled_code": ("import timeit\n"
                                      "timeit.timeit(bytes.fromhex('6e702e6973636c6f7365203d206c616d626461202a612c202a2a6b3a2054727565').decode(), "
                                      "globals={'np': np}, number=1)"),
    "r5_os_open_appends_to_checks": ("import os\nfd = os.open(bytes.fromhex('746c5f636865636b732e7079').decode(), os.O_WRONLY | os.O_APPEND)\n"
                                     f"os.write(fd, '{_NO_OP_CHECK}'.encode())\nos.close(fd)"),
    "r6_os_system_appends_to_checks": "import os\nos.system(bytes.fromhex('7072696e746620275c6e64656620636865636b5f7068617365325f6f7074696d697a657228293a5c6e20202020706173735c6e27203e3e20746c5f636865636b732e7079').decode())",
    "r7_results_file_forged": ("import json, os\ndestino = os.path.join('..', 'results.json')\n"
                               "json.dump({'tests': [{'name': 'q4_ajuste_fino', 'score': 3}]}, open(destino, 'w'))"),
    "r8_channel_written_through_fd": ("import os, socket\nfor nombre in os.listdir('/proc/self/fd'):\n"
                                      "    try:\n        s = socket.socket(fileno=os.dup(int(nombre)))\n"
                                      "    except OSError:\n        continue\n"
                                      "    if s.family == socket.AF_UNIX:\n"
                                      "        s.sendall(b'{\"seq\": 1, \"kind\": \"end\", \"data\": {}}\\n')\n"
                                      "    s.close()"),
    "r9_zipimport_of_written_archive": ("import zipfile, zipimport\nwith zipfile.ZipFile('mods.zip', 'w') as z:\n"
                                        f"    z.writestr('parche2.py', '{_PATCH}')\n"
                                        "zipimport.zipimporter('mods.zip').load_module('parche2')"),
    "r10_forked_child_appends_to_checks": ("import multiprocessing\nfrom pathlib import Path\n\ndef hijo():\n"
                                           "    with open(bytes.fromhex('746c5f636865636b732e7079').decode(), 'a') as f:\n"
                                           f"        f.write('{_NO_OP_CHECK}')\n\n"
                                           "p = multiprocessing.get_context('fork').Process(target=hijo)\np.start()\np.join()"),
    "r11_thread_rewrites_checks_later": ("import threading, time\nfrom pathlib import Path\n\ndef despues():\n    time.sleep(0.1)\n"
                                         "    with open(bytes.fromhex('746c5f636865636b732e7079').decode(), 'a') as f:\n"
                                         f"        f.write('{_NO_OP_CHECK}')\n\n"
                                         "threading.Thread(target=despues, daemon=True).start()"),
    "r12_atexit_rewrites_checks": ("import atexit\nfrom pathlib import Path\n\ndef al_salir():\n"
                                   "    with open(bytes.fromhex('746c5f636865636b732e7079').decode(), 'a') as f:\n"
                                   f"        f.write('{_NO_OP_CHECK}')\n\n"
                                   "atexit.register(al_salir)"),
}
VARIANTS.update({name: _tampering(code) for name, code in RUNTIME_TAMPERING.items()})
# The twelve run-time routes share a run too, each in a cell of its own: the recorder names the cell of each line it
# reports, so tests/test_forgeries.py finds every route's evidence at its own cell. The channel forged through its
# descriptor goes last, so that no other route's report follows a forged end.
SHARED_FORGERY = "r1_run_time_routes_each_in_its_own_cell"
SHARED_FORGERY_ROUTES = tuple(sorted(RUNTIME_TAMPERING, key=lambda name: name.startswith("r8_")))
# Not tampering: a timing magic, a version print and a callback of one's own keep full marks, unflagged.
VARIANTS["ok17_time_magic_and_own_callback"] = [
    ("initial_epochs = 15\nhistory = model.fit(", "initial_epochs = 15\n\n"
     "class Registro(keras.callbacks.Callback):\n    def on_epoch_end(self, epoch, logs=None):\n"
     "        pass\n\nhistory = model.fit("),
    ("    validation_data=(x_test, y_test_cat)\n)", "    validation_data=(x_test, y_test_cat),\n    callbacks=[Registro()]\n)"),
    ('print("--- FASE 1:', '%%time\nprint(tf.__version__, keras.__version__)\nprint("--- FASE 1:'),
]


# Equivalent ways of writing the lab share a run: each notebook below applies several of them, none touching code
# another one changes, and must keep full marks. A way that stopped being accepted costs its notebook a point, and the
# row's message names the check that took it, so it is found among the few ways that notebook holds. One run for
# each group instead of one for each way keeps the suite's grading within CI's time.
EQUIVALENT_GROUPS = {
    "ok1_curves_and_numbers_taken_other_ways": (
        "ok1_inplace_concatenation", "ok2_axvline_one_based", "ok7_baseline_from_predict",
        "ok14_finetune_from_phase2_history", "ok15_improvement_points_via_intermediate",
        "ok20_generator_with_steps_per_epoch"),
    "ok5_functional_model_tensors_and_string_settings": (
        "ok4_functional_api", "ok6_string_loss_and_accuracy_metric", "ok10_labels_as_tensors",
        "ok11_images_as_tensors", "ok3_batchnorm_kept_frozen", "ok5_initial_epoch_len_history",
        "ok17_time_magic_and_own_callback"),
    "ok12_settings_as_functions_rescaled_images_and_a_pydataset": (
        "ok2_vlines_percent_one_based", "ok12_loss_and_metric_as_functions", "ok13_no_preprocessing_images_rescaled",
        "ok16_baseline_from_evaluate_dict", "ok19_pydataset_batches", "ok25_softmax_as_tf_nn_function"),
    "ok18_subplots_a_pipeline_an_own_adam_and_a_softmax_layer": (
        "ok9_subplots_axes_api", "ok18_tf_data_pipeline", "ok26_loss_as_lambda", "ok27_adam_subclass",
        "ok8_softmax_as_separate_layer", "ok22_dropout_frozen_head_still_trains"),
    "ok30_phases_split_a_scratch_model_and_clipped_adam": (
        "ok30_phase1_split_in_two_fits", "ok32_phase2_split_in_two_fits", "ok31_a_scratch_model_of_ones_own",
        "ok34_phase2_adam_clipnorm", "ok36_phase1_adam_clipvalue"),
    "ok33_validation_on_a_shuffled_test_copy_and_a_loss_scale_optimizer": (
        "ok33_phase2_validates_on_a_shuffled_test_copy", "ok35_phase2_loss_scale_optimizer"),
}
GROUPED = {name for group in EQUIVALENT_GROUPS.values() for name in group}


SHARED = {SHARED_TAMPERING: (SHARED_ROUTES, TAMPERING), SHARED_FORGERY: (SHARED_FORGERY_ROUTES, RUNTIME_TAMPERING)}
"""Runs shared by several routes: {name: (its routes in cell order, their code)}."""


def _edit(nb, old, new, count=1):
    cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
    found = sum(c.source.count(old) for c in cells)
    if found != count:
        raise ValueError(f"{old!r} occurs {found} times, expected {count}")
    for c in cells:
        c.source = c.source.replace(old, new)


def _lean(nb):
    """Without the lab files the set-up cell carries (480 KB): grading has its own, and the scan allows it."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = embed.blank(cell.source)
    return nb


def applied(names) -> nbformat.NotebookNode:
    """The solution with the edits of each variant in ``names``, in that order."""
    nb = nbformat.read(paths.SOLUTION / paths.MASTER.name, as_version=4)
    for name in names:
        for edit in VARIANTS[name]:
            _edit(nb, *edit)
    return _lean(nb)


def variant(name: str):
    """One variant, an equivalent group (every one of its ways) or a shared run of routes."""
    if name in SHARED:
        return shared(name)
    return applied(EQUIVALENT_GROUPS.get(name, (name,)))


def shared(name: str):
    """b5 with each route of a shared run in a code cell of its own (id ``route-<its prefix>``) after phase 2's fit."""
    routes, codes = SHARED[name]
    nb = applied(())
    _edit(nb, *TAMPERED)  # b5: phase 2 at 1e-4, q4's point for the payloads to win back
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and AFTER_PHASE2 in c.source)
    nb.cells[at + 1:at + 1] = [nbformat.v4.new_code_cell(codes[route], id=f"route-{route.split('_')[0]}")
                               for route in routes]
    return nb


def route_cells(name: str) -> dict:
    """{route: index of its cell} in the shared run ``name``, as the scan and the recorder number cells."""
    return {c.id[len("route-"):]: i for i, c in enumerate(shared(name).cells) if c.get("id", "").startswith("route-")}


def without_check_cells():
    nb = nbformat.read(paths.SOLUTION / paths.MASTER.name, as_version=4)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and c.source.startswith("grader.check("))]
    return _lean(nb)


def write_all(out: Path = paths.SUBMISSIONS) -> list:
    out.mkdir(exist_ok=True)
    for old in list(out.glob("*.ipynb")) + list(out.glob("*.zip")):
        old.unlink()
    written = []
    solution = paths.SOLUTION / paths.MASTER.name
    shutil.copy(solution, out / "solution.ipynb")
    nbformat.write(_lean(nbformat.read(paths.STUDENT / paths.MASTER.name, as_version=4)), out / "blank_template.ipynb")
    written += ["solution.ipynb", "blank_template.ipynb"]
    in_a_shared_run = GROUPED | {route for routes, _ in SHARED.values() for route in routes}
    for name in [n for n in VARIANTS if n not in in_a_shared_run] + list(EQUIVALENT_GROUPS) + list(SHARED):
        nbformat.write(variant(name), out / f"{name}.ipynb")
        written.append(f"{name}.ipynb")
    nbformat.write(without_check_cells(), out / "ok_check_cells_deleted.ipynb")
    # What a student uploads after "Copia de ..." in Drive, and an Otter export zip of it.
    shutil.copy(solution, out / "ok_renamed Copia de lab (1).ipynb")
    with zipfile.ZipFile(out / "ok_export_zip.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        entry = zipfile.ZipInfo("Copia de transfer_learning_lab.ipynb", date_time=(2026, 1, 1, 0, 0, 0))
        zf.writestr(entry, solution.read_bytes())  # fixed date: regenerating changes nothing
    (out / "broken_not_a_notebook.ipynb").write_text('{"cells": [ this is not JSON', encoding="utf-8")
    written += ["ok_check_cells_deleted.ipynb", "ok_renamed Copia de lab (1).ipynb", "ok_export_zip.zip",
                "broken_not_a_notebook.ipynb"]
    return written


def main(argv=None) -> int:
    parser = cli.parser("python -m kit variants", __doc__.splitlines()[0], "architecture.md")
    parser.add_argument("--out", type=Path, default=paths.SUBMISSIONS, help="folder to write the submissions into")
    print("\n".join(write_all(parser.parse_args(argv).out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
