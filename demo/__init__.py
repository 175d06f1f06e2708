"""The Gradio demo for policy staff: try a post, see why, tune a policy, score a batch.

Importing this package turns Gradio's analytics off and points Gradio's upload cache at a
fresh temporary folder that is removed when the process ends, so uploaded files are not
kept (set ``GRADIO_TEMP_DIR`` yourself to choose another place). Both must happen before
Gradio is imported, which is why the modules import it lazily through here.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
if "GRADIO_TEMP_DIR" not in os.environ:
    _TMP = tempfile.mkdtemp(prefix="recruitwatch-demo-")
    os.environ["GRADIO_TEMP_DIR"] = _TMP
    atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
