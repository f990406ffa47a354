"""matplotlib's SVG made fit for the dashboard: announced as one image, and with no inline
style, which the dashboard's Content Security Policy forbids."""

from __future__ import annotations

import re


def accessible_svg(svg: bytes) -> bytes:
    # matplotlib writes the Title metadata as the root's <title>, which assistive
    # technology announces for an inline SVG once the root says it is one image.
    return _without_inline_style(svg).replace(b"<svg ", b'<svg role="img" ', 1)


# matplotlib's one stylesheet rule, `*{stroke-linejoin: round; stroke-linecap: butt}`.
_STYLESHEET = re.compile(rb"<style[^>]*>\*\{([^}]*)\}</style>\s*")
_STYLE_ATTRIBUTE = re.compile(rb'\sstyle="([^"]*)"')


def _presentation(declarations: bytes) -> bytes:
    """`fill: #fff; stroke-width: 0.8` as ` fill="#fff" stroke-width="0.8"`."""
    pairs = (d.split(b":", 1) for d in declarations.split(b";") if d.strip())
    return b"".join(b' %s="%s"' % (name.strip(), value.strip()) for name, value in pairs)


def _without_inline_style(svg: bytes) -> bytes:
    """The SVG with matplotlib's style attributes and <style> element turned into SVG
    presentation attributes (every property it writes is one), so that a page whose
    Content Security Policy allows no inline style (the dashboard's) draws it as drawn.
    The stylesheet's rule applies to every element: on the root, its properties inherit."""
    rule = _STYLESHEET.search(svg)
    svg = _STYLESHEET.sub(b"", svg, count=1)
    if rule is not None:
        svg = svg.replace(b"<svg ", b"<svg" + _presentation(rule.group(1)) + b" ", 1)
    return _STYLE_ATTRIBUTE.sub(lambda match: _presentation(match.group(1)), svg)
