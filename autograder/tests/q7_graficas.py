from otter.test_files import test_case

OK_FORMAT = False

name = "q7_graficas"
points = 2

@test_case(points=1, hidden=False)
def test_curvas_de_validacion_25_epocas():
    """Curvas de validación de las 25 épocas"""
    import runpy
    runpy.run_path('tl_checks.py')['check_plot_series']()

@test_case(points=1, hidden=False)
def test_linea_vertical_inicio_ajuste_fino():
    """Línea vertical donde empieza el ajuste fino, en las dos gráficas"""
    import runpy
    runpy.run_path('tl_checks.py')['check_plot_boundary']()

