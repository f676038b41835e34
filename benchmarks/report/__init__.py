"""``ese-bench report``: tables, plots and the HTML / Markdown report."""
