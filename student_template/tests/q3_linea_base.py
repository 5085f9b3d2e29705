from otter.test_files import test_case

OK_FORMAT = False

name = "q3_linea_base"
points = 2

@test_case(points=1, hidden=False)
def test_linea_base_evaluada_en_prueba(env):
    """Línea base evaluada en el conjunto de prueba tras la fase 1"""
    import runpy
    runpy.run_path('tl_checks.py')['check_baseline_evaluated'](env)

