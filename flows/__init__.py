"""The pipeline of defwatch: the Prefect flows (ingest, reextract, distributed) on top, their stages in sub-packages."""
