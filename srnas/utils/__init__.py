"""Small shared helpers: errors, image I/O, option loading/validation, checkpoints, tiling, CPU resume."""
