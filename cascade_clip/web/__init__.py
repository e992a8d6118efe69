"""The web demo: a page where a person picks or uploads an image, types
class names and sees the segmentation (``tools/web_demo.py``). The answer
to a request is :meth:`.demo.WebDemo.segment`, which needs no browser;
:mod:`.page` serves it with Gradio. Nothing below this room imports it."""
from .demo import (MAX_CLASSES, MAX_TEMPLATES, NO_CLASSES, NO_IMAGE,
                   DemoOutput, Example, RequestError, WebDemo,
                   parse_template_text)
from .page import build_app, launch_app

__all__ = [
    'MAX_CLASSES', 'MAX_TEMPLATES', 'NO_CLASSES', 'NO_IMAGE', 'DemoOutput',
    'Example', 'RequestError', 'WebDemo', 'build_app', 'launch_app',
    'parse_template_text'
]
