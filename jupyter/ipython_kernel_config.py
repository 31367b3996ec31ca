# Every kernel of the course environment (JupyterLab for students and instructors, nbval,
# selftest, grading) reads this file: `make` copies it to the environment's etc/ipython.
# Figures are PNGs drawn at twice the pixel density and shown at the same size, so they are
# sharp on high-density screens. nbval does not compare PNG data or output metadata, and a
# figure's text form ("<Figure size 640x480 with 1 Axes>") keeps figure.dpi, so stored
# outputs are the same with or without this file. Widgets and live plots follow it too
# (nnlib.plot.pixel_ratio).
c.InlineBackend.figure_formats = {"retina"}  # noqa: F821 - `c` is given by IPython
