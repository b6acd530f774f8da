"""Security: no unsafe deserialisation, no committed secrets."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, passed
from reproducibility.repo_view import Location, RepoView

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


@check(
    "unsafe-deserialisation",
    "No unsafe deserialisation",
    "Security",
    2,
    """Load data safely: yaml.safe_load, json, np.load(..., allow_pickle=False), keras load_model with the default
safe_mode=True; never pickle.load files from others.""",
)
def deserialisation(view: RepoView):
    found: list[Location] = []
    for name in (
        "pickle.load",
        "pickle.loads",
        "cloudpickle.load",
        "dill.load",
        "joblib.load",
        "marshal.loads",
    ):
        found += view.calls(name)
    for facts in view.python_files:
        for key, literal in facts.keywords.items():
            if literal.get("safe_mode") is False or literal.get("allow_pickle") is True:
                number = int(key.rpartition(":")[2])
                found.append(Location(facts.path, number, facts.snippet(number)))
        for line in facts.calls.get("yaml.load", []):
            if "SafeLoader" not in facts.snippet(line) and "CSafeLoader" not in facts.snippet(line):
                found.append(Location(facts.path, line, facts.snippet(line)))
        for line in facts.calls.get("yaml.unsafe_load", []):
            found.append(Location(facts.path, line, facts.snippet(line)))
    if found:
        return failed(f"{len(found)} unsafe deserialisation call(s): they can run code from the file.", *found[:10])
    return passed("No pickle, unsafe YAML or unsafe Keras loading.")


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
        match = ANY_SECRET.search(text)  # one pass per file; name the kind only on a hit
        if match:
            kind = next(kind for kind, pattern in SECRETS.items() if pattern.fullmatch(match.group(0)))
            found.append(Evidence(path, text[: match.start()].count("\n") + 1, kind))
    if found:
        return failed(f"{len(found)} credential(s) committed.", *found[:10])
    return passed("No credentials found.")
