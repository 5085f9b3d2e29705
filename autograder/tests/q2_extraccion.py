from otter.test_files import test_case

OK_FORMAT = False

name = "q2_extraccion"
points = 5

@test_case(points=1, hidden=False)
def test_base_efficientnet_imagenet_sin_top(env):
    """Base EfficientNetV2B0 con pesos de ImageNet y sin capa superior, con los datos que recibe y validando en el conjunto de prueba"""
    import runpy
    runpy.run_path('tl_checks.py')['check_base_requested'](env)

@test_case(points=1, hidden=False)
def test_base_congelada_al_entrenar():
    """Base congelada al entrenar la fase 1 (extracción de características)"""
    import runpy
    runpy.run_path('tl_checks.py')['check_phase1_frozen']()

@test_case(points=1, hidden=False)
def test_cabeza_gap_dropout_dense_softmax():
    """Cabeza: GlobalAveragePooling2D, Dropout y Dense(10) con softmax"""
    import runpy
    runpy.run_path('tl_checks.py')['check_head']()

@test_case(points=1, hidden=False)
def test_compilado_adam_categorical_crossentropy():
    """Compilado con Adam y entropía cruzada categórica"""
    import runpy
    runpy.run_path('tl_checks.py')['check_phase1_compile']()

@test_case(points=1, hidden=True)
def test_base_intacta_cabeza_entrenada():
    """En la fase 1 la base no cambia y la cabeza sí se entrena"""
    import runpy
    runpy.run_path('tl_hidden_checks.py')['check_phase1_changes']()

