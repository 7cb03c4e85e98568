"""``kfp-isolation cluster up|down|status``: a local kind cluster running multi-user KFP.

:mod:`versions` pins what the recipe installs, :mod:`commands` renders the kind configuration and
the command lines, :mod:`dex` registers the suite's cast as Dex static users, :mod:`recipe`
runs the steps and :mod:`cli` is the command.
"""
