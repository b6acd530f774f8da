"""Every option of the project's management commands says what it is in --help."""

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand

APPS = {"portal", "scheduler", "reproducibility"}
DJANGO_OPTIONS = {action.dest for action in BaseCommand().create_parser("manage.py", "x")._actions}


@pytest.mark.parametrize("name", sorted(name for name, app in get_commands().items() if app in APPS))
def test_every_option_has_help_text(name):
    command = load_command_class(get_commands()[name], name)
    parser = command.create_parser("manage.py", name)
    silent = [a.dest for a in parser._actions if a.dest not in DJANGO_OPTIONS and not a.help]
    assert silent == [], f"manage.py {name}: options without help: {silent}"
