"""The canvas: NodeGraphQt drawing the document and the run (Qt lives from here down)."""
