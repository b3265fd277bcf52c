"""Many videos and long recordings analysed on a Dask cluster (``painsign analyze A B C``).

``job`` holds what a worker needs to analyse one video, ``runner`` the client side
(cluster, progress, resume, failures), ``chunks`` the split of one long recording into
time chunks analysed in parallel and stitched back.
"""
