"""The web demo's page: Gradio around :meth:`~.demo.WebDemo.segment`.
Gradio, the optional ``demo`` extra (``pip install -e ".[demo]"``), is
imported only by :func:`build_app`."""
import logging
from typing import Any, Optional, Tuple

from .demo import DemoOutput, WebDemo

logger = logging.getLogger(__name__)

# Small pictures (the shapes scenes are 128 pixels) shown large, with
# sharp pixels.
PAGE_CSS = """
#image img, #overlay img {
  image-rendering: pixelated;
  width: 100%;
  height: 100%;
  object-fit: contain;
}
"""
IMAGE_HEIGHT = 360


def build_app(demo: WebDemo):
    """The Gradio page of ``demo`` (a ``gr.Blocks``; call ``launch``).

    Inputs: the image (upload, paste or an example), the class names, the
    unlabelled rule (a threshold slider, distractors) and the prompt
    templates; outputs: the overlay with its legend, a line
    saying what was found (or what is wrong), the table of class shares
    and the label mask to download. Every request goes through
    :meth:`WebDemo.segment`, one at a time.
    """
    import gradio as gr

    def run(image: Optional[dict],
            class_text: str,
            template_text: str,
            threshold: float,
            distractor_text: str,
            progress=gr.Progress()):
        # The image arrives as Gradio's file record (the event does not
        # preprocess it), so that an unreadable file reaches read_image
        # and its message instead of failing in Gradio.
        path = image.get('path') if isinstance(image, dict) else None
        name = image.get('orig_name') if isinstance(image, dict) else None
        try:
            output = demo.segment(
                path,
                class_text,
                template_text,
                name,
                progress=lambda f, text: progress(f, desc=text),
                threshold=threshold,
                distractor_text=distractor_text)
        except Exception:  # a bug: the log has it, the page a line
            logger.exception('the web demo failed on a request')
            output = DemoOutput(
                message='error: the server failed on this request (its '
                'log has the details); try again or another image')
        return (output.overlay, output.message, output.table
                or None, output.files or None)

    # Gradio's copies of uploads and results older than a day go, hourly.
    with gr.Blocks(
            title=demo.title, analytics_enabled=False,
            delete_cache=(3600, 86400)) as app:
        gr.Markdown(f'# {demo.title}\n\n{demo.description}')
        with gr.Row():
            with gr.Column():
                image = gr.Image(
                    label='image',
                    type='filepath',
                    sources=['upload', 'clipboard'],
                    height=IMAGE_HEIGHT,
                    elem_id='image')
                classes = gr.Textbox(
                    value=demo.class_text,
                    label='class names (commas or new lines)',
                    lines=3,
                    elem_id='classes')
                threshold = gr.Slider(
                    0.0,
                    1.0,
                    value=demo.threshold,
                    step=0.01,
                    label='unlabelled below this probability (0: every '
                    'pixel takes a class)',
                    elem_id='threshold')
                with gr.Accordion('distractors', open=False):
                    distractors = gr.Textbox(
                        value=demo.distractor_text,
                        label='classes whose pixels are unlabelled: a class '
                        'list (coco_stuff171, ...) or names',
                        lines=1,
                        elem_id='distractors')
                with gr.Accordion('prompt templates', open=False):
                    templates = gr.Textbox(
                        value=demo.template_text,
                        label='one per line, {} for the class name; or '
                        '"single" / "multi"',
                        lines=2,
                        elem_id='templates')
                button = gr.Button(
                    'Segment', variant='primary', elem_id='segment')
                if demo.examples:
                    gr.Examples([[e.image, e.class_names]
                                 for e in demo.examples], [image, classes],
                                label='examples (click one, then Segment)',
                                elem_id='examples')
            with gr.Column():
                overlay = gr.Image(
                    label='segmentation (legend: classes by area)',
                    type='filepath',
                    format='png',
                    interactive=False,
                    height=IMAGE_HEIGHT,
                    elem_id='overlay')
                message = gr.Markdown(elem_id='message')
                table = gr.Dataframe(
                    headers=['index', 'class', 'share (%)', 'training'],
                    datatype=['number', 'str', 'number', 'str'],
                    label='class shares',
                    interactive=False,
                    elem_id='shares')
                files = gr.File(
                    label='label mask (pixel value = class index) and '
                    'coloured mask',
                    file_count='multiple',
                    interactive=False,
                    elem_id='downloads')
        button.click(
            run, [image, classes, templates, threshold, distractors],
            [overlay, message, table, files],
            preprocess=False,
            concurrency_limit=1)
    return app


def launch_app(demo: WebDemo,
               host: str = '127.0.0.1',
               port: Optional[int] = None) -> Tuple[Any, str]:
    """Builds the page of ``demo`` and serves it without blocking.

    Args:
        demo: The model and its limits.
        host: Address to serve on.
        port: Port (``None``: Gradio's default, 7860, or the next free).

    Returns:
        The running ``gr.Blocks`` (``block_thread()`` waits on it,
        ``close()`` stops it) and its URL.
    """
    app = build_app(demo)
    app.queue(default_concurrency_limit=1)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        ssr_mode=False,
        quiet=True,
        css=PAGE_CSS)
    return app, url
