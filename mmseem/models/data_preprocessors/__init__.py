# SEEM uses mmdet's DetDataPreprocessor (normalise, BGR->RGB, pad to a
# multiple of 32, pad masks / semantic maps); nothing SEEM-specific here.
