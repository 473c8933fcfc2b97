"""The command line: click commands, exit codes, what is printed."""
