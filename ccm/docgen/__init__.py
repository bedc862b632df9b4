"""Files generated from where the code holds the facts, and ``ccm docs`` that checks or writes them.

``files`` lists them (the annotation reference, the metrics and operations pages, the admission
policies the Helm chart ships); ``metrics`` and ``operations`` render their pages. The test suite
runs ``ccm docs --check``, so a stale file fails CI with the command that fixes it.
"""
