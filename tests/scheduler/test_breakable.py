"""The breakable filter: long paths, URLs and commands wrap at their separators, escaped."""

from scheduler.templatetags.breakable import breakable


def test_a_url_breaks_after_each_slash():
    assert breakable("https://github.com/org/repo") == "https:/<wbr>/<wbr>github.com/<wbr>org/<wbr>repo"


def test_a_command_breaks_before_its_options():
    assert breakable("python train.py --epochs 5 -v") == "python train.py<wbr> --epochs 5<wbr> -v"


def test_markup_in_the_text_is_escaped_not_run():
    assert breakable("a/<script>") == "a/<wbr>&lt;script&gt;"


def test_nothing_gives_nothing():
    assert breakable(None) == "" and breakable("") == ""
