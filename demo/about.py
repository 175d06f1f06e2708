"""The "About" tab: the model card and the datasheet, rendered, with the card's figures."""

from __future__ import annotations

import re
from pathlib import Path

from detector.detector import DEFAULT_MODEL
from training.data import DATA_DIR

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def front_matter_as_code(markdown: str) -> str:
    """Hugging Face style YAML front matter shown as a code block, not as a heading."""
    return _FRONT_MATTER.sub(lambda m: "```yaml\n" + m.group(1) + "\n```\n", markdown, count=1)


def split_images(markdown: str, base: Path) -> tuple[str, list[tuple[Path, str]]]:
    """The Markdown without its image links (paths relative to ``base`` do not resolve in the
    browser), and the images that exist on disk, shown separately."""
    images = [(base / m.group(2), m.group(1)) for m in _IMAGE.finditer(markdown)]
    text = _IMAGE.sub(lambda m: f"*(figure below: {m.group(1)})*", markdown)
    return text, [(p, alt) for p, alt in images if p.is_file()]


def documents(model_dir: Path | None = None) -> dict[str, tuple[str, list[tuple[Path, str]]]]:
    model_dir = Path(model_dir or DEFAULT_MODEL)
    out = {}
    for title, path in (("Model card", model_dir / "MODEL_CARD.md"), ("Datasheet", DATA_DIR / "DATASHEET.md")):
        if path.is_file():
            out[title] = split_images(front_matter_as_code(path.read_text(encoding="utf-8")), path.parent)
        else:
            out[title] = (f"*{path} is missing.*", [])
    return out


def build(model_dir: Path | None = None):
    import gradio as gr

    for title, (text, images) in documents(model_dir).items():
        with gr.Accordion(title, open=title == "Model card", elem_id=f"about-{title.split()[-1].lower()}"):
            gr.Markdown(text)
            if images:
                with gr.Row():
                    for path, alt in images:
                        gr.Image(str(path), label=alt, interactive=False, buttons=[])
