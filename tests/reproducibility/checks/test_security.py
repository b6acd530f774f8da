"""Security: loaders that run code from the file, in every spelling; committed credentials, not look-alikes."""

from __future__ import annotations

import base64
import json

import pytest

from reproducibility.checks import Status


@pytest.mark.parametrize(
    "source",
    [
        "import pickle\nobj = pickle.load(f)\n",
        "import pickle as pkl\nobj = pkl.loads(data)\n",
        "from pickle import load\nobj = load(f)\n",
        "import cPickle\nobj = cPickle.load(f)\n",
        "import _pickle as cPickle\nobj = cPickle.load(f)\n",
        "from six.moves import cPickle\nobj = cPickle.load(f)\n",
        "import pickle\nobj = pickle.Unpickler(f).load()\n",
        "import dill\nobj = dill.load(f)\n",
        "import cloudpickle\nobj = cloudpickle.loads(data)\n",
        "import joblib\nmodel = joblib.load('model.pkl')\n",
        "from sklearn.externals import joblib\nmodel = joblib.load('model.pkl')\n",
        "import pandas as pd\ndf = pd.read_pickle('frame.pkl')\n",
        "import numpy as np\nx = np.load('x.npy', allow_pickle=True)\n",
        "import yaml\ncfg = yaml.load(f)\n",
        "import yaml\ncfg = yaml.load(f, Loader=yaml.FullLoader)\n",
        "import yaml\ncfg = yaml.full_load(f)\n",
        "import yaml\ncfg = yaml.unsafe_load(f)\n",
        "import oyaml as yaml\ncfg = yaml.load(f)\n",
        "import keras\nm = keras.models.load_model('m.keras', safe_mode=False)\n",
        "import marshal\ncode = marshal.loads(data)\n",
    ],
)
def test_every_loader_that_runs_code_fails(status_of, source):
    assert status_of("unsafe-deserialisation", {"t.py": source}) == Status.FAIL


def test_unsafe_loading_in_a_notebook_cell_fails(status_of):
    cell = {"cell_type": "code", "source": "import joblib\nm = joblib.load('m.pkl')", "metadata": {}, "outputs": []}
    nb = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})
    assert status_of("unsafe-deserialisation", {"nb.ipynb": nb}) == Status.FAIL


@pytest.mark.parametrize(
    "source",
    [
        "import yaml\ncfg = yaml.safe_load(f)\n",
        "import yaml\ncfg = yaml.load(f, Loader=yaml.SafeLoader)\n",
        "import yaml\ncfg = yaml.load(f, yaml.CSafeLoader)\n",
        "import yaml\ncfg = yaml.load(\n    f,\n    Loader=yaml.SafeLoader,\n)\n",
        "import numpy as np\nx = np.load('x.npy', allow_pickle=False)\nnp.save('y.npy', x, allow_pickle=True)\n",
        "import pickle\npickle.dump(obj, f)\n",
        "import json\ncfg = json.load(f)\n",
        "import keras\nm = keras.models.load_model('m.keras')\n",
        "# pickle.load(f)\ns = 'yaml.load(f)'\n",
    ],
)
def test_safe_loading_passes(status_of, source):
    assert status_of("unsafe-deserialisation", {"t.py": source}) == Status.PASS


# --- no-secrets ----------------------------------------------------------------------------------


def test_a_key_written_in_code_fails(status_of):
    assert status_of("no-secrets", {"deploy.py": "KEY = 'AIza" + "B" * 35 + "'\n"}) == Status.FAIL


def test_a_key_shaped_run_inside_encoded_output_is_no_key(status_of):
    # A notebook's saved PNG is base64: any run of letters turns up in it, next to hundreds of others.
    image = base64.b64encode(bytes(range(256)) * 3).decode() + "+AIza" + "c" * 35 + "/" + "d" * 300
    output = {"output_type": "display_data", "data": {"image/png": image}, "metadata": {}}
    cell = {"cell_type": "code", "source": "plot()", "metadata": {}, "execution_count": 1, "outputs": [output]}
    nb = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})
    assert status_of("no-secrets", {"nb.ipynb": nb}) == Status.PASS
