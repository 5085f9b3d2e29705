from otter.test_files import test_case

OK_FORMAT = False

name = "q1_datos"
points = 2

@test_case(points=1, hidden=False)
def test_imagenes_float32_sin_normalizar(env):
    """Imágenes de CIFAR-10 en float32, sin normalizar a [0, 1]"""
    import runpy
    runpy.run_path('tl_checks.py')['check_images'](env)

@test_case(points=1, hidden=False)
def test_etiquetas_one_hot(env):
    """Etiquetas en one-hot de 10 clases, cada una la de su imagen"""
    import runpy
    runpy.run_path('tl_checks.py')['check_labels'](env)

