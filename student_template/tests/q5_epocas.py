from otter.test_files import test_case

OK_FORMAT = False

name = "q5_epocas"
points = 2

@test_case(points=1, hidden=False)
def test_fase1_epocas_0_a_14():
    """Fase 1: épocas 0 a 14"""
    import runpy
    runpy.run_path('tl_checks.py')['check_phase1_epochs']()

@test_case(points=1, hidden=False)
def test_fase2_epocas_15_a_24():
    """Fase 2: épocas 15 a 24 (continúa donde terminó la fase 1)"""
    import runpy
    runpy.run_path('tl_checks.py')['check_phase2_epochs']()

