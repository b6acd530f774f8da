"""Security: no unsafe deserialisation, no committed secrets."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, passed
from reproducibility.repo_view import Location, PythonFacts, RepoView

SECRETS = {
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
}
ANY_SECRET = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in SECRETS.values()))
# Text every match of some pattern above contains, each starting with a literal, which the regex
# engine finds at memchr speed: text holding none of them cannot match, and the alternation above
# costs ten times more per byte.
MARKERS = tuple(re.compile(marker) for marker in ("AKIA", "PRIVATE KEY-----", "gh[pousr]_", "xox[baprs]-", "AIza"))
TEXT_SUFFIXES = frozenset(
    {
        ".py",
        ".ipynb",
        ".txt",
        ".md",
        ".yml",
        ".yaml",
        ".json",
        ".toml",
        ".cfg",
        ".ini",
        ".sh",
        ".env",
        "",
    }
)


# Loaders that run code from the file they read: pickle in all its spellings and wrappers.
PICKLE_MODULES = ("pickle", "cPickle", "_pickle", "six.moves.cPickle", "pickle5", "dill", "cloudpickle")
UNSAFE_CALLS = frozenset(
    {f"{module}.{name}" for module in PICKLE_MODULES for name in ("load", "loads", "Unpickler")}
    | {
        "joblib.load",
        "sklearn.externals.joblib.load",
        "pandas.read_pickle",
        "marshal.load",
        "marshal.loads",
        "yaml.unsafe_load",
        "yaml.unsafe_load_all",
        "yaml.full_load",  # FullLoader still builds arbitrary Python objects in old PyYAML: not a safe loader
        "yaml.full_load_all",
        "oyaml.unsafe_load",
        "oyaml.full_load",
    }
)
# yaml.load is unsafe unless given a safe loader (by keyword or as the second argument).
YAML_LOADS = ("yaml.load", "yaml.load_all", "oyaml.load", "oyaml.load_all")
SAFE_LOADER = re.compile(r"\b(C?SafeLoader|C?BaseLoader)\b")


@check(
    "unsafe-deserialisation",
    "No unsafe deserialisation",
    "Security",
    2,
    """Load data safely: yaml.safe_load, json, np.load(..., allow_pickle=False), keras load_model with the default
safe_mode=True; never pickle.load files from others.""",
)
def deserialisation(view: RepoView):
    found = [
        Location(facts.path, line, facts.snippet(line))
        for facts, lines in sorted(_unsafe_loads(view).values(), key=lambda item: view.order(item[0]))
        for line in sorted(lines)
    ]
    if found:
        return failed(f"{len(found)} unsafe deserialisation call(s): they can run code from the file.", *found[:10])
    return passed("No pickle, unsafe YAML, allow_pickle=True or safe_mode=False loading.")


def _unsafe_loads(view: RepoView) -> dict[int, tuple[PythonFacts, set[int]]]:
    """File -> the lines loading unsafely, from the view's indexes of calls and keywords."""
    found: dict[int, tuple[PythonFacts, set[int]]] = {}

    def add(facts: PythonFacts, line: int) -> None:
        found.setdefault(id(facts), (facts, set()))[1].add(line)

    for name in UNSAFE_CALLS:
        for facts in view.calling(name):
            for line in facts.calls[name]:
                add(facts, line)
    for name in YAML_LOADS:
        for facts in view.calling(name):
            for line in facts.calls[name]:
                # The call's arguments: its line and the next two (a loader on a continuation line).
                if not SAFE_LOADER.search(" ".join(facts.lines[line - 1 : line + 2])):
                    add(facts, line)
    for facts, key in view.passing("safe_mode"):
        if facts.keywords[key].get("safe_mode") is False:
            add(facts, int(key.rpartition(":")[2]))
    for facts, key in view.passing("allow_pickle"):
        if facts.keywords[key].get("allow_pickle") is True and "load:" in key:
            add(facts, int(key.rpartition(":")[2]))
    return found


@check(
    "no-secrets",
    "No secrets committed",
    "Security",
    2,
    """Revoke the credential now, remove it from history (git filter-repo) and read it from the environment.""",
)
def secrets(view: RepoView):
    texts = [
        (entry.path, text)
        for entry in view.files
        if entry.suffix in TEXT_SUFFIXES and entry.size <= 1024 * 1024 and not entry.is_symlink
        if (text := view.text(entry.path))
    ]
    # Markers absent from every file together rule every file out in a few scans of one string.
    everything = "\0".join(text for _, text in texts)
    markers = [marker for marker in MARKERS if marker.search(everything)]
    found: list[Evidence] = []
    for path, text in texts if markers else ():
        if not any(marker.search(text) for marker in markers):
            continue
        for match in ANY_SECRET.finditer(text):  # one pass per file; name the kind only on a hit
            if _inside_encoded_data(text, match.start(), match.end()):
                continue
            kind = next(kind for kind, pattern in SECRETS.items() if pattern.fullmatch(match.group(0)))
            found.append(Evidence(path, text[: match.start()].count("\n") + 1, kind))
            break
    if found:
        return failed(f"{len(found)} credential(s) committed.", *found[:10])
    return passed("No credentials found.")


BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
ENCODED_RUN = 200  # base64 characters around a match that make it part of encoded data


def _inside_encoded_data(text: str, start: int, end: int) -> bool:
    """Whether a match lies inside a long run of base64 (a notebook's saved PNG output): any string
    of letters can turn up in encoded bytes, a key written by a person stands among other text."""
    before = start
    while before > 0 and start - before < ENCODED_RUN and text[before - 1] in BASE64:
        before -= 1
    after = end
    while after < len(text) and (after - end) + (start - before) < ENCODED_RUN and text[after] in BASE64:
        after += 1
    return (start - before) + (after - end) >= ENCODED_RUN
