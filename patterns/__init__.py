"""Pattern analytics over the graph: factor patterns, micropathways and coding reliability.

Each measure pulls the slice it needs with saved Cypher (so it is the same on both backends) and
finishes in pandas or a maintained library (scipy, mlxtend, networkx, prefixspan, krippendorff).
"""
