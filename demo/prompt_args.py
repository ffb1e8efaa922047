"""Command-line types for prompts, shared by the image and video demos."""
import argparse

__all__ = ['floats', 'point', 'box']


def floats(text: str, n: int, what: str):
    """``'x,y,...'`` -> ``n`` floats, or an argparse error naming ``what``."""
    try:
        vals = [float(v) for v in text.split(',')]
    except ValueError:
        vals = []
    if len(vals) != n:
        raise argparse.ArgumentTypeError(
            f'{what} {text!r}: expected {n} comma-separated numbers')
    return vals


def point(text: str):
    """``'x,y,label'`` with label 1 (positive) or 0 (negative)."""
    x, y, label = floats(text, 3, 'point (x,y,label)')
    if label not in (0, 1):
        raise argparse.ArgumentTypeError(
            f'point {text!r}: label must be 1 (positive) or 0 (negative)')
    return x, y, int(label)


def box(text: str):
    """``'x1,y1,x2,y2'``."""
    return floats(text, 4, 'box (x1,y1,x2,y2)')
