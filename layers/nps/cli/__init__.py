"""The ``nps`` command line: one module per command group, each registering its subcommands.

An entry point like the Lambda handlers: it may import every capability and the kernel, and nothing in
the domain imports it.
"""
