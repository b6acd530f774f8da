"""Security settings at work: the Content Security Policy, sign-in throttling, CSRF and production.

The inline-content test renders every page of the URL map as every role, using the world and the
routes of the authorisation matrix (tests/portal/test_authorization_matrix.py), which fails when a
URL pattern is missing from it: a page added later is checked here without touching this file.
"""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from axes.models import AccessAttempt
from axes.utils import reset as reset_sign_in_failures
from django.contrib import admin
from django.core.cache import cache
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from config.client_address import client_address
from tests.config.test_settings import PRODUCTION_SECRET, run_python
from tests.portal.test_authorization_matrix import ANONYMOUS, MATRIX, ROLES, World, _request, all_url_names

PASSWORD = "a-strong-test-pass-1"  # tests/conftest.py's make_user
EXPECTED_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}
# TensorBoard's own UI runs under its own policy (inline scripts by hash): see the TensorBoard test.
TENSORBOARD_ROUTES = {"runs:tensorboard", "runs:tensorboard-bare", "runs:tensorboard-path"}
DOCUMENT_TYPES = ("text/html", "image/svg+xml")
# <script> elements of these types are data, never run, and the policy does not apply to them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/template"}


def policy_of(response: Any) -> dict[str, set[str]]:
    header = response.get("Content-Security-Policy", "")
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {words[0]: set(words[1:]) for words in directives}


class InlineContentFinder(HTMLParser):
    """What a strict policy would block: inline scripts and styles, event-handler attributes, eval."""

    def __init__(self) -> None:
        super().__init__()
        self.offenders: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        where = f"<{tag}{' id=' + values['id'] if values.get('id') else ''}>"
        if tag == "script" and not values.get("src") and (values.get("type") or "") not in DATA_SCRIPT_TYPES:
            self.offenders.append(f"{where} inline script")
        if tag == "style":
            self.offenders.append(f"{where} <style> block")
        for name, value in attrs:
            text = (value or "").strip().lower()
            if name.startswith("on"):
                self.offenders.append(f'{where} {name}="{value}"')
            elif name == "style":
                self.offenders.append(f'{where} style="{value}"')
            elif name.startswith(("hx-on", "data-hx-on")) or name in {"hx-vars", "data-hx-vars"}:
                self.offenders.append(f"{where} {name} (htmx evaluates it; eval is off)")
            elif text.startswith(("javascript:", "js:")):
                self.offenders.append(f'{where} {name}="{value}"')


def inline_content(html: str) -> list[str]:
    finder = InlineContentFinder()
    finder.feed(html)
    finder.close()
    return finder.offenders


def is_document(response: Any) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() in DOCUMENT_TYPES


def body_of(response: Any) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


# --- Content Security Policy ----------------------------------------------------------------


def test_the_inline_content_finder_names_each_kind_of_offender() -> None:
    html = """<script>alert(1)</script><script src="/static/x.js"></script>
    <script type="application/json" id="data">{"a": 1}</script><style>p{}</style>
    <p style="color:red" onclick="go()">x</p><a href="javascript:go()">y</a>
    <div hx-on:click="go()"></div><svg><rect style="fill:red"/></svg>"""

    offenders = inline_content(html)

    assert len(offenders) == 7, offenders
    assert any("inline script" in o for o in offenders) and any("onclick" in o for o in offenders)
    assert inline_content('<script src="/a.js"></script><p class="x">fine</p>') == []


@pytest.mark.django_db
def test_pages_carry_the_content_security_policy(client: Client, applicant) -> None:  # type: ignore[no-untyped-def]
    for url in ("/", "/accounts/login/", "/signup/"):
        assert policy_of(client.get(url)) == EXPECTED_POLICY, url
    client.force_login(applicant)
    assert policy_of(client.get("/")) == EXPECTED_POLICY


@pytest.mark.django_db
def test_pages_may_not_be_framed_or_sniffed(client: Client) -> None:
    response = client.get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_base_layout_turns_off_htmx_inline_styles_and_eval_and_portal_css_has_the_indicators(client: Client) -> None:
    from django.contrib.staticfiles import finders

    page = client.get("/").content.decode()
    config = page.split('<meta name="htmx-config" content=\'', 1)[1].split("'", 1)[0]

    assert json.loads(config) == {"includeIndicatorStyles": False, "allowEval": False, "allowScriptTags": False}
    portal_css = open(finders.find("css/portal.css")).read()  # noqa: SIM115
    assert ".htmx-request .htmx-indicator" in portal_css


def _crawl(world: World) -> tuple[list[str], list[str], set[str]]:
    """Every GET page of the matrix as every role: (offending pages, pages without the policy, routes seen)."""
    offending: list[str] = []
    unprotected: list[str] = []
    seen: set[str] = set()
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        if role != ANONYMOUS:
            clients[role].force_login(world.users[role])
    for route in MATRIX:
        # API routes too: their JSON is skipped below, a page among them (HTML) is checked.
        if route.method != "GET" or route.name in TENSORBOARD_ROUTES:
            continue
        seen.add(route.name)
        for role in ROLES:
            response = _request(clients[role], route, world)
            if not is_document(response):
                continue
            label = f"{route.name} as {role} ({response.status_code})"
            if policy_of(response) != EXPECTED_POLICY:
                unprotected.append(label)
            offenders = inline_content(body_of(response))
            if offenders:
                offending.append(f"{label}: " + "; ".join(offenders))
    return offending, unprotected, seen


@pytest.mark.django_db
def test_no_page_holds_inline_script_or_style_for_any_role(world: World) -> None:
    offending, unprotected, seen = _crawl(world)

    assert not offending, "pages a strict Content Security Policy would break:\n" + "\n".join(offending)
    assert not unprotected, "pages without the site's policy:\n" + "\n".join(unprotected)
    # Every URL pattern is either crawled here or deliberately elsewhere (the matrix fails for
    # patterns it lacks; this keeps the promise visible from this side too).
    posted = {route.name for route in MATRIX if route.method != "GET"}
    uncovered = all_url_names() - seen - posted - TENSORBOARD_ROUTES
    assert not uncovered, f"pages this test never rendered: {sorted(uncovered)}"


def _admin_pages(obj_by_model: dict[Any, Any]) -> list[str]:
    """The admin index, and each registered model's list, add and change pages."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        for action, args in (("changelist", []), ("add", []), ("change", [obj_by_model.get(model)])):
            if args and args[0] is None:
                continue
            try:
                urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=[a.pk for a in args]))
            except NoReverseMatch:
                continue
    return urls


@pytest.mark.django_db
def test_the_admin_renders_under_the_policy_without_inline_script(admin_client: Client, admin_user) -> None:  # type: ignore[no-untyped-def]
    offending = []
    for url in _admin_pages({type(admin_user): admin_user}):
        response = admin_client.get(url)
        # Some admins refuse adding (django-axes' logs are written by axes alone).
        assert response.status_code == 200 or (url.endswith("/add/") and response.status_code == 403), url
        assert policy_of(response) == EXPECTED_POLICY, url
        # The admin's scripts are all files; the odd inline style attribute is cosmetic and allowed.
        scripts = [o for o in inline_content(response.content.decode()) if "script" in o or " on" in o]
        if scripts:
            offending.append(f"{url}: {scripts}")
    assert not offending, "\n".join(offending)


@pytest.mark.django_db
def test_tensorboard_keeps_its_own_policy_and_may_not_be_framed(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from scheduler.artifacts import runs
    from scheduler.artifacts.tensorboard import forget_apps

    logs = runs.run_artifacts(world.job.pk).logs
    (logs / "README").unlink(missing_ok=True)
    writer = EventFileWriter(str(logs / "train"))
    value = summary_pb2.Summary.Value(tag="loss", simple_value=0.5)
    writer.add_event(event_pb2.Event(step=1, wall_time=1.0, summary=summary_pb2.Summary(value=[value])))
    writer.close()
    forget_apps()
    client = Client()
    client.force_login(world.users["owner"])
    try:
        page = client.get(reverse("runs:tensorboard", args=[world.job.pk]))
        data = client.get(reverse("runs:tensorboard-path", args=[world.job.pk, "data/runs"]))
    finally:
        forget_apps()

    assert page.status_code == 200
    body_of(page)
    policy = policy_of(page)
    assert "'unsafe-inline'" in policy["style-src"]  # TensorBoard's own, for Polymer and d3
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["frame-ancestors"] == {"'none'"} and policy["base-uri"] == {"'self'"}
    assert page["X-Frame-Options"] == "DENY"
    assert data.status_code == 200
    assert policy_of(data) == EXPECTED_POLICY


def test_tensorboard_policy_gains_only_the_directives_it_lacks() -> None:
    from scheduler.artifacts.tensorboard import confined_policy

    confined = confined_policy("default-src 'self';script-src 'self' 'sha256-abc';frame-ancestors 'self'")

    assert confined.split(";") == [
        "default-src 'self'",
        "script-src 'self' 'sha256-abc'",
        "frame-ancestors 'self'",
        "base-uri 'self'",
        "form-action 'self'",
    ]


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_portal_forms_posted_without_the_csrf_token_are_refused_and_change_nothing(make_user) -> None:  # type: ignore[no-untyped-def]
    from portal.models import User

    ada = make_user("ada", "applicant")
    anonymous = Client(enforce_csrf_checks=True)
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(ada)
    signup = {
        "username": "mallory",
        "email": "mallory@example.org",
        "password1": "long-enough-pass-42",
        "password2": "long-enough-pass-42",
    }

    refusals = {
        "sign-up": anonymous.post("/signup/", signup),
        "sign-in": anonymous.post("/accounts/login/", {"username": "ada", "password": PASSWORD}),
        "password change": signed_in.post(
            "/accounts/password_change/",
            {"old_password": PASSWORD, "new_password1": "another-long-pass-7", "new_password2": "another-long-pass-7"},
        ),
        "sign-out": signed_in.post("/accounts/logout/"),
    }

    assert {name: r.status_code for name, r in refusals.items()} == dict.fromkeys(refusals, 403)
    page = refusals["sign-up"].content.decode()
    assert "could not be sent" in page and "nothing changed" in page
    assert inline_content(page) == []
    assert not User.objects.filter(username="mallory").exists()
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)
    assert signed_in.get("/").context["user"] == ada  # still signed in


@pytest.mark.django_db
def test_the_same_form_with_the_token_from_its_page_is_accepted(make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]

    response = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD, "csrfmiddlewaretoken": token})

    assert response.status_code == 302


# --- Sign-in throttling -----------------------------------------------------------------------


def sign_in(client: Client, username: str, password: str, address: str = "127.0.0.1") -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_until_locked(client: Client, username: str = "ada", address: str = "127.0.0.1") -> list[Any]:
    from django.conf import settings

    return [sign_in(client, username, "wrong", address) for _ in range(settings.AXES_FAILURE_LIMIT)]


@pytest.mark.django_db
def test_sign_in_is_paused_after_five_failures_with_a_page_saying_when_to_retry(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")

    responses = fail_until_locked(client)

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert "Please enter a correct username and password" in responses[0].content.decode()
    page = responses[-1].content.decode()
    assert "Sign-in paused" in page and "<strong>ada</strong>" in page
    assert "Try again in 15 minutes" in page
    assert responses[-1]["Retry-After"] == "900"
    assert policy_of(responses[-1]) == EXPECTED_POLICY
    assert inline_content(page) == []


@pytest.mark.django_db
def test_the_right_password_is_refused_while_sign_in_is_paused(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")
    fail_until_locked(client)

    response = sign_in(client, "ada", PASSWORD)

    assert response.status_code == 429
    assert not client.get("/").context["user"].is_authenticated


@pytest.mark.django_db
def test_other_usernames_and_other_addresses_are_not_paused(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")
    make_user("bob", "applicant")
    fail_until_locked(client, "ada", "10.0.0.1")

    assert sign_in(Client(), "bob", PASSWORD, "10.0.0.1").status_code == 302
    assert sign_in(Client(), "ada", PASSWORD, "10.0.0.2").status_code == 302


@pytest.mark.django_db
def test_sign_in_works_again_once_the_cool_off_has_passed(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")
    fail_until_locked(client)
    assert sign_in(client, "ada", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))

    assert sign_in(client, "ada", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_maintainer_reset_lifts_the_pause_at_once(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")
    fail_until_locked(client)

    assert reset_sign_in_failures(username="ada") == 1

    assert sign_in(client, "ada", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_clears_earlier_failures(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")
    for _ in range(4):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD).status_code == 302
    client.post("/accounts/logout/")

    responses = [sign_in(client, "ada", "wrong") for _ in range(4)]

    assert [r.status_code for r in responses] == [200] * 4


@pytest.mark.django_db
def test_force_login_and_api_tokens_work_for_a_user_whose_sign_in_is_paused(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    ada = make_user("ada", "applicant")
    fail_until_locked(client)
    token = Token.objects.create(user=ada)

    class WhoAmI(APIView):
        def get(self, request: Any) -> Response:
            return Response({"username": request.user.username})

    request = APIRequestFactory().get("/api/whoami", HTTP_AUTHORIZATION=f"Token {token.key}")
    api_response = WhoAmI.as_view()(request)
    tests_client = Client()
    tests_client.force_login(ada)

    assert api_response.status_code == 200 and api_response.data == {"username": "ada"}
    assert tests_client.get("/").context["user"] == ada


@pytest.mark.django_db
def test_one_wrong_password_on_each_of_many_usernames_pauses_sign_in_from_that_address(  # type: ignore[no-untyped-def]
    client: Client, make_user, settings
) -> None:
    make_user("ada", "applicant")
    limit = getattr(settings, "CG_SIGNIN_ADDRESS_USERNAME_LIMIT", 10)

    responses = [sign_in(client, f"guess{i}", "wrong", "10.0.0.1") for i in range(limit)]

    assert [r.status_code for r in responses] == [200] * (limit - 1) + [429]
    page = responses[-1].content.decode()
    assert "Sign-in paused" in page and f"{limit} different usernames" in page and "guess9" not in page
    assert responses[-1]["Retry-After"] == "900"
    # The right password of a real account is refused from that address, not from another one.
    assert sign_in(Client(), "ada", PASSWORD, "10.0.0.1").status_code == 429
    assert sign_in(Client(), "ada", PASSWORD, "10.0.0.2").status_code == 302


@pytest.mark.django_db
def test_retries_on_one_username_count_once_towards_the_address_limit(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "applicant")
    make_user("bob", "applicant")
    for _ in range(4):
        fail_until_locked(client, "ada", "10.0.0.1")  # 20 failures, one username: ada is paused, the address not

    assert sign_in(Client(), "bob", PASSWORD, "10.0.0.1").status_code == 302


@pytest.fixture
def empty_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_an_api_view_that_takes_passwords_is_throttled_by_its_login_scope(empty_throttle_cache) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    class ObtainToken(APIView):
        permission_classes = [AllowAny]
        throttle_scope = "login"

        def post(self, request: Any) -> Response:
            return Response({"detail": "Unable to log in with provided credentials."}, status=400)

    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    view = ObtainToken.as_view()
    statuses = [
        view(APIRequestFactory().post("/api/token/", {"username": "ada"})).status_code for _ in range(limit + 1)
    ]

    assert statuses == [400] * limit + [429]


def test_api_throttles_are_strict_for_anonymous_callers_and_generous_for_users() -> None:
    from django.conf import settings

    rest = settings.REST_FRAMEWORK
    assert "rest_framework.throttling.AnonRateThrottle" in rest["DEFAULT_THROTTLE_CLASSES"]
    assert "rest_framework.throttling.UserRateThrottle" in rest["DEFAULT_THROTTLE_CLASSES"]
    per_minute = {scope: int(rate.split("/")[0]) for scope, rate in rest["DEFAULT_THROTTLE_RATES"].items()}
    assert per_minute["anon"] < per_minute["user"] and per_minute["login"] <= per_minute["anon"]
    assert rest["NUM_PROXIES"] == 0  # never a client's own X-Forwarded-For


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6"}, "10.0.0.5"),
        (1, {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}, "203.0.113.7"),
        (2, {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.7, 10.0.0.9"}, "203.0.113.7"),
        (2, {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, "10.0.0.5"),
        (1, {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "not-an-address"}, "10.0.0.5"),
    ],
)
def test_the_client_address_is_the_one_the_outermost_trusted_proxy_saw(settings, proxies, meta, expected) -> None:  # type: ignore[no-untyped-def]
    settings.CG_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", **meta)

    assert client_address(request) == expected


@pytest.fixture
def fresh_proxy_watch():  # type: ignore[no-untyped-def]
    from config import client_address as module

    module.forget_proxy_headers_seen()
    yield
    module.forget_proxy_headers_seen()


@pytest.mark.django_db
def test_a_proxy_header_while_no_proxy_is_trusted_is_logged_once(
    client: Client, settings, caplog, fresh_proxy_watch
) -> None:  # type: ignore[no-untyped-def]
    settings.CG_TRUSTED_PROXY_COUNT = 0
    client.get("/")
    with caplog.at_level("WARNING"):
        client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7")
        client.get("/accounts/login/", HTTP_X_FORWARDED_FOR="203.0.113.8", HTTP_X_REAL_IP="203.0.113.8")

    warnings = [record.getMessage() for record in caplog.records if "CG_TRUSTED_PROXY_COUNT" in record.getMessage()]
    assert len(warnings) == 1
    assert "X-Forwarded-For" in warnings[0] and "one address" in warnings[0]


@pytest.mark.django_db
def test_no_warning_without_proxy_headers_or_when_proxies_are_trusted(
    client: Client, settings, caplog, fresh_proxy_watch
) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level("WARNING"):
        settings.CG_TRUSTED_PROXY_COUNT = 0
        client.get("/")
        settings.CG_TRUSTED_PROXY_COUNT = 1
        client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert not [record for record in caplog.records if "CG_TRUSTED_PROXY_COUNT" in record.getMessage()]


def test_throttling_is_configured_from_the_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dump = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.CG_TRUSTED_PROXY_COUNT,"
        " s.REST_FRAMEWORK['NUM_PROXIES'], s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['anon']]))"
    )
    env = {
        "CG_DATA_DIR": str(tmp_path),
        "AXES_FAILURE_LIMIT": "3",
        "AXES_COOLOFF_MINUTES": "60",
        "CG_TRUSTED_PROXY_COUNT": "1",
        "CG_API_THROTTLE_ANON": "10/minute",
    }
    result = run_python(dump, env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [3, 3600.0, 1, 1, "10/minute"]

    bad = run_python(dump, {"CG_DATA_DIR": str(tmp_path), "AXES_FAILURE_LIMIT": "five"})
    assert bad.returncode != 0 and "AXES_FAILURE_LIMIT must be a whole number" in bad.stderr
    zero = run_python(dump, {"CG_DATA_DIR": str(tmp_path), "AXES_COOLOFF_MINUTES": "0"})
    assert zero.returncode != 0 and "AXES_COOLOFF_MINUTES must be at least 1" in zero.stderr


# --- Production -------------------------------------------------------------------------------

PRODUCTION_PROBE = """
import io, json, django
django.setup()
from django.conf import settings as s
from django.core.management import call_command
from django.test import Client

client = Client(SERVER_NAME="grants.example.org")
secure = client.get("/api/v1/calls/", secure=True)  # JSON: production has no collected static files here
plain = client.get("/accounts/login/")
health = client.get("/healthz")
out = io.StringIO()
call_command("check", deploy=True, fail_level="WARNING", stdout=out, stderr=out)
print(json.dumps({
    "settings": {name: getattr(s, name) for name in (
        "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "X_FRAME_OPTIONS", "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY", "SECURE_CROSS_ORIGIN_OPENER_POLICY")},
    "secure_headers": {name: secure.get(name) for name in (
        "Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
        "Cross-Origin-Opener-Policy", "Content-Security-Policy")},
    "plain": [plain.status_code, plain.get("Location")],
    "health_redirected": health.status_code in (301, 302),
    "check": out.getvalue(),
}))
"""


@pytest.mark.slow
def test_production_is_https_only_with_secure_cookies_hsts_and_a_clean_deploy_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "CG_DATA_DIR": str(tmp_path),
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET,
        "DJANGO_ALLOWED_HOSTS": "grants.example.org",
    }
    result = run_python(PRODUCTION_PROBE, env)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert probe["settings"] == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
    }
    headers = probe["secure_headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert probe["plain"] == [301, "https://grants.example.org/accounts/login/"]
    assert not probe["health_redirected"]  # health probes call over plain HTTP inside the network
    assert "System check identified no issues" in probe["check"], probe["check"]


# --- In a real browser ------------------------------------------------------------------------


def _watch_for_violations(page: Any) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    return violations


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_portal_and_the_admin_work_with_no_policy_violation(  # type: ignore[no-untyped-def]
    live_server, browser, make_user, admin_user
) -> None:
    from tests.scheduler.factories import make_allocation

    make_user("max", "maintainer")
    make_allocation(hours=10)
    page = browser.new_context().new_page()
    violations = _watch_for_violations(page)

    for path in ("/", "/signup/", "/accounts/password_reset/"):
        page.goto(f"{live_server.url}{path}")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("max")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("whoami").wait_for()

    page.goto(f"{live_server.url}/quota/allocations/")
    assert page.locator("svg.bar rect.bar-used").count() == 1
    # The filter submits itself on change, from static/js/autosubmit.js.
    page.get_by_label("State").select_option("expired")
    page.wait_for_url("**/quota/allocations/?state=expired")
    assert page.get_by_text("No allocations yet in this state.").is_visible()
    page.goto(f"{live_server.url}/quota/jobs/")

    admin = browser.new_context().new_page()  # no session: signs in through the admin's form
    violations += _watch_for_violations(admin)
    admin.goto(f"{live_server.url}/admin/login/")
    admin.get_by_label("Username").fill(admin_user.username)
    admin.get_by_label("Password").fill("password")  # pytest-django's admin_user
    admin.get_by_role("button", name="Log in").click()
    admin.get_by_role("link", name="Log out").or_(admin.get_by_role("button", name="Log out")).first.wait_for()
    admin.goto(f"{live_server.url}/admin/portal/project/add/")
    # The members widget is built by the admin's own script (SelectFilter2.js).
    admin.locator(".selector-available").first.wait_for()
    admin.goto(f"{live_server.url}/admin/portal/user/")
    admin.get_by_role("checkbox").first.wait_for()

    assert violations == []
