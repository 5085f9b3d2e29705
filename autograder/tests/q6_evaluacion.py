from otter.test_files import test_case

OK_FORMAT = False

name = "q6_evaluacion"
points = 2

@test_case(points=1, hidden=False)
def test_precision_final_tras_fase2(env):
    """Precisión final medida en prueba tras el ajuste fino"""
    import runpy
    runpy.run_path('tl_checks.py')['check_finetune_value'](env)

@test_case(points=1, hidden=True)
def test_mejora_es_final_menos_linea_base(env):
    """La mejora es la precisión final menos la línea base"""
    import runpy
    runpy.run_path('tl_hidden_checks.py')['check_improvement'](env)

