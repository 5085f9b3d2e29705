from otter.test_files import test_case

OK_FORMAT = False

name = "q1_datos"
points = 2

@test_case(points=1, hidden=False)
def test_imagenes_float32_sin_normalizar(env):
    import runpy
    runpy.run_path('tl_checks.py')['check_images'](env)

@test_case(points=1, hidden=False)
def test_etiquetas_one_hot(env):
    import runpy
    runpy.run_path('tl_checks.py')['check_labels'](env)

