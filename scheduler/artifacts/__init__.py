"""Run artifacts back to reviewers: curves, TensorBoard, SavedModel inspection, downloads."""

import sys
import types


def use_tensorboard_without_tensorflow() -> None:
    """Make TensorBoard read event files with its TensorFlow stub, not TensorFlow.

    TensorBoard imports TensorFlow lazily whenever it is installed, even just to read event files.
    Registering `tensorboard.compat.notf` (TensorBoard's own switch, its `no_tensorflow` build
    target) keeps TensorFlow out of the web and worker processes. Called by config.wsgi and
    config.celery; not at import, since code that writes summaries with TensorFlow needs it.
    """
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
