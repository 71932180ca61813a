"""The PySide6 desktop UI. The only package that imports Qt."""
