"""The ground floor: error types, the weights manifest, output formats and environment parsing.

Every other package may import from here; nothing here imports another package of the project.
"""
