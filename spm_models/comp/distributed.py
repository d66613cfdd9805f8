"""dask.distributed clients for cubes that outgrow one process.

:func:`get_client` connects to ``scheduler`` (or ``$SPM_DASK_SCHEDULER``); without one it
starts a :class:`~dask.distributed.LocalCluster` only when the cube would not fit in memory
(:data:`spm_models.cube.DEFAULT_MEMORY_BUDGET`), else returns None (dask's threaded
scheduler, or plain numpy, does the work).
"""

from __future__ import annotations

import os
from typing import Any

ENV_VAR = "SPM_DASK_SCHEDULER"


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to use: the argument, else ``$SPM_DASK_SCHEDULER``, else None."""
    return scheduler or os.environ.get(ENV_VAR) or None


def get_client(scheduler: str | None = None, nbytes: int | None = None,
               n_workers: int = 2, threads_per_worker: int = 1,
               memory_limit: str | int = "1.5GiB") -> Any:
    """A :class:`dask.distributed.Client`, or None when no cluster is needed.

    Parameters
    ----------
    scheduler : ``tcp://HOST:PORT``; defaults to ``$SPM_DASK_SCHEDULER``.
    nbytes : size of the cube to process; a LocalCluster is started when it exceeds the
        memory budget and no scheduler is given.
    """
    from spm_models.cube import DEFAULT_MEMORY_BUDGET

    address = scheduler_address(scheduler)
    if address:
        from dask.distributed import Client

        return Client(address)
    if nbytes is not None and nbytes > DEFAULT_MEMORY_BUDGET:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                               memory_limit=memory_limit, processes=True,
                               dashboard_address=":0")
        return Client(cluster)
    return None


def close_client(client: Any) -> None:
    """Close a client from :func:`get_client` (and the LocalCluster it started)."""
    if client is None:
        return
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
