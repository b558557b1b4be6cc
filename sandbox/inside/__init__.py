"""Code that runs inside the sandbox (the guest side); everything else in ``mabench.sandbox`` runs on the host.

Each module here is stdlib only: the host reads these files and ships them into the sandbox as source text
(``layout.GUEST_MODULES``, ``layout.worker_argv``), where the rest of the package is not visible. The host
imports ``protocol`` (the frame format both sides speak) and ``linux`` (constants such as the seccomp
architectures) as ordinary modules too. This ``__init__`` stays empty: importing ``inside.protocol`` on the
host must not pull in the worker.
"""
