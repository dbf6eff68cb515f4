"""The edge: visitor websockets, static pages (widget, demo, console)."""
