from otter.test_files import test_case

OK_FORMAT = False

name = "q4_ajuste_fino"
points = 3

@test_case(points=1, hidden=False)
def test_solo_ultimas_40_capas_entrenables():
    """En el ajuste fino se entrenan, con los mismos datos que la fase 1 y validando en el conjunto de prueba, la cabeza y solo las últimas 40 capas de la base"""
    import runpy
    runpy.run_path('tl_checks.py')['check_phase2_layers']()

@test_case(points=1, hidden=False)
def test_recompilado_adam_lr_1e5():
    """Recompilado con Adam y tasa de aprendizaje 1e-5 durante todo el ajuste fino (cada `fit` que lo entrena, y nada fuera de ellos), según la tasa y según cuánto cambian los pesos"""
    import runpy
    runpy.run_path('tl_checks.py')['check_phase2_optimizer']()

