"""wfplan: a Pegasus-style workflow planner for HTCondor DAGMan."""

__version__ = "0.1.0"
