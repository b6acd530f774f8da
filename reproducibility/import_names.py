"""Which distributions provide an imported module: the idiom table behind "every import is declared".

A module is satisfied by any distribution that installs it: `import cv2` by opencv-python or its
headless and contrib builds (or conda's opencv), `import tensorflow` by any TensorFlow build,
`import keras` by keras or by TensorFlow itself. Modules not in the table are installed by the
distribution of the same name (`import tqdm` -> tqdm). Only what the distribution itself installs
counts: numpy arriving with tensorflow is not a declaration of numpy.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from reproducibility.declared_versions import TENSORFLOW_BUILDS

_OPENCV = ("opencv-python", "opencv-contrib-python", "opencv-python-headless", "opencv-contrib-python-headless")
# Import name (the dotted prefix that decides) -> the distributions that provide it.
PROVIDERS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow", *sorted(TENSORFLOW_BUILDS - {"tensorflow"})),
    "keras": ("keras", *sorted(TENSORFLOW_BUILDS)),
    "tf_keras": ("tf-keras",),
    "cv2": (*_OPENCV, "opencv", "py-opencv", "libopencv"),
    "sklearn": ("scikit-learn", "sklearn"),
    "skimage": ("scikit-image",),
    "skopt": ("scikit-optimize",),
    "yaml": ("pyyaml",),
    "PIL": ("pillow", "pil"),
    "IPython": ("ipython",),
    "google.protobuf": ("protobuf",),
    "google.cloud": ("google-cloud-storage", "google-cloud-core", "google-cloud"),
    "google.auth": ("google-auth",),
    "googleapiclient": ("google-api-python-client",),
    "grpc": ("grpcio",),
    "absl": ("absl-py",),
    "bs4": ("beautifulsoup4",),
    "dateutil": ("python-dateutil",),
    "attr": ("attrs",),
    "jwt": ("pyjwt",),
    "gin": ("gin-config",),
    "hydra": ("hydra-core",),
    "omegaconf": ("omegaconf",),
    "tensorflow_datasets": ("tensorflow-datasets", "tfds-nightly"),
    "tensorflow_hub": ("tensorflow-hub", "tf-hub-nightly"),
    "tensorflow_probability": ("tensorflow-probability", "tfp-nightly"),
    "tensorflow_addons": ("tensorflow-addons", "tfa-nightly"),
    "tensorflow_text": ("tensorflow-text", "tensorflow-text-nightly"),
    "tensorflow_serving": ("tensorflow-serving-api", "tensorflow-serving-api-gpu"),
    "tensorflow_model_optimization": ("tensorflow-model-optimization",),
    "official": ("tf-models-official", "tf-models-nightly"),
    "seqio": ("seqio", "seqio-nightly"),
    "t5": ("t5",),
    "tree": ("dm-tree",),
    "sonnet": ("dm-sonnet",),
    "haiku": ("dm-haiku",),
    "mpl_toolkits": ("matplotlib",),
    "pylab": ("matplotlib",),
    "pkg_resources": ("setuptools",),
    "torch": ("torch", "pytorch"),
    "jax": ("jax", "jaxlib"),
    "Crypto": ("pycryptodome", "pycrypto"),
    "OpenSSL": ("pyopenssl",),
    "zmq": ("pyzmq",),
    "serial": ("pyserial",),
    "magic": ("python-magic",),
    "dotenv": ("python-dotenv",),
    "docx": ("python-docx",),
    "Levenshtein": ("python-levenshtein", "levenshtein"),
    "git": ("gitpython",),
    "wx": ("wxpython",),
    "MySQLdb": ("mysqlclient",),
    "psycopg2": ("psycopg2", "psycopg2-binary"),
    "fitz": ("pymupdf",),
    "Bio": ("biopython",),
    "ruamel": ("ruamel-yaml",),
    "pycocotools": ("pycocotools", "pycocotools-windows", "cocoapi"),
    "keras_applications": ("keras-applications",),
    "keras_preprocessing": ("keras-preprocessing",),
    "classification_models": ("image-classifiers",),
    "params": ("py-params",),
    "rouge_score": ("rouge-score",),
    "typing_extensions": ("typing-extensions",),
    "past": ("future",),
    "dm_env": ("dm-env",),
    "lmdb": ("lmdb", "python-lmdb"),
    "gym": ("gym", "gymnasium"),
    "atari_py": ("atari-py",),
    "pydot": ("pydot", "pydotplus"),
    "Image": ("pillow", "pil"),
}
# Modules of Python 2's standard library (and its renamed modules): code written for Python 2
# imports them with nothing to install.
PYTHON2_STDLIB = frozenset(
    {
        "urllib2", "urlparse", "httplib", "cPickle", "cStringIO", "StringIO", "Queue", "ConfigParser",
        "HTMLParser", "htmlentitydefs", "Tkinter", "tkMessageBox", "tkFileDialog", "cookielib", "Cookie",
        "SocketServer", "SimpleHTTPServer", "BaseHTTPServer", "CGIHTTPServer", "thread", "dummy_thread",
        "xmlrpclib", "copy_reg", "repr", "anydbm", "dbhash", "robotparser", "UserDict", "UserList",
        "UserString", "commands", "md5", "sha", "sets", "exceptions", "__builtin__",
        "new", "popen2", "mimetools", "rfc822", "imp", "distutils", "asynchat", "asyncore",
    }
)  # fmt: skip
# Provided by the place the code runs, not by any manifest: Colab's runtime, the build backend.
ENVIRONMENT_MODULES = frozenset({"google.colab"})


def providers(module: str) -> tuple[str, ...]:
    """The canonical names of the distributions that provide a module, most likely first."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        prefix = ".".join(parts[:length])
        if prefix in PROVIDERS:
            return PROVIDERS[prefix]
    return (canonicalize_name(parts[0]),)


def is_environment_module(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in ENVIRONMENT_MODULES)
