"""CPU-scale and paper-scale reproductions of the papers' claims (``python -m reproduce.<script> --scale cpu``)."""
