"""The bundle-size baseline: nothing but a PySide6 main window (build/bare_window.spec)."""

from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication([])
window = QMainWindow()
window.show()
app.exec()
