"""Bulletins: citation style, renderers and exporters of a topic's candidates."""
