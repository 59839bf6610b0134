"""Qt-free, napari-free science of napari-dvp.

Every module here works on numpy / pandas / dask / shapely objects and is
usable from plain Python, the ``napari-dvp`` command and the dock widgets alike.
"""
