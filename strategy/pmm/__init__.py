"""Pure market making's run: parameters (`parse`), the tick's inputs outside any
transaction (`prepare`), the decision and its writes (`decide`, `write`), and the single
and batch runs that hold the locks (`run`)."""
