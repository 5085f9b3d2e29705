from otter.test_files import test_case

OK_FORMAT = False

name = "q2_extraccion"
points = 5

@test_case(points=1, hidden=False)
def test_base_efficientnet_imagenet_sin_top():
    import runpy
    runpy.run_path('tl_checks.py')['check_base_requested']()

@test_case(points=1, hidden=False)
def test_base_congelada_al_entrenar():
    import runpy
    runpy.run_path('tl_checks.py')['check_phase1_frozen']()

@test_case(points=1, hidden=False)
def test_cabeza_gap_dropout_dense_softmax():
    import runpy
    runpy.run_path('tl_checks.py')['check_head']()

@test_case(points=1, hidden=False)
def test_compilado_adam_categorical_crossentropy():
    import runpy
    runpy.run_path('tl_checks.py')['check_phase1_compile']()

@test_case(points=1, hidden=True)
def test_base_intacta_cabeza_entrenada():
    import runpy
    runpy.run_path('tl_hidden_checks.py')['check_phase1_changes']()

