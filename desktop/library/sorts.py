"""The orders Library.list gives: here, in a module of its own, for the CLI's parser and the
window's Library dock, which must not import SQLAlchemy to list them."""

SORTS = ("newest", "oldest", "rating", "title", "changed")
