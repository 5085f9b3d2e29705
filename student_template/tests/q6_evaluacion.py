from otter.test_files import test_case

OK_FORMAT = False

name = "q6_evaluacion"
points = 2

@test_case(points=1, hidden=False)
def test_precision_final_tras_fase2(env):
    """Precisión final medida en prueba tras el ajuste fino"""
    import runpy
    runpy.run_path('tl_checks.py')['check_finetune_value'](env)

