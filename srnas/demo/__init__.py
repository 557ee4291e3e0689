"""The embedded demo: real photos from scikit-image -> paired SR data -> a small IMDN trained on CPU."""
