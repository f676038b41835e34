"""The command-line layer every ``ese-*`` script shares, and ``ese-embed`` itself."""
