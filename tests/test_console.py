"""The staff console over HTTP: access control, CSRF, idle sign-out, throttling,
audited case views, and the admin pages calling the same functions as the CLI.

The console runs as its own process (`triage console serve`), as under `make run`,
on SQLite and on the real PostgreSQL.
"""
import re
import shutil
import subprocess
import time
import uuid

import pyotp
import pytest
import requests

from tests.servers import ROOT, free_port
from triage import db
from triage.audit import AuditLog
from triage.cases import Cases
from triage.console.accounts import Accounts
from triage.console.totp import console_recovery_codes, console_totp
from triage.keys import KeyStore
from triage.review import ReviewQueue

PASSWORD = "correct horse battery"
CANARY = "CANARY-Zebulon-7731 my hiv result came back positive"


class Console:
    def __init__(self, workdir, url, idle_minutes=15, **env):
        self.workdir = workdir
        self.db_url = url
        keyring = workdir / "keys.json"
        self.keys = KeyStore.create_file(keyring) if not keyring.exists() else KeyStore.load_file(keyring)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        shutil.copytree(ROOT / "data", self.data_dir)
        self.env = {"PATH": "/usr/bin:/bin", "TRIAGE_DB_URL": url, "TRIAGE_MASTER_KEY_FILE": str(keyring),
                    "TRIAGE_CONSOLE_PORT": str(self.port), "TRIAGE_CONSOLE_IDLE_MINUTES": str(idle_minutes),
                    "TRIAGE_DATA_DIR": str(self.data_dir), "TRIAGE_RASA_URL": f"http://127.0.0.1:{free_port()}",
                    "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "HOME": str(workdir), **env}
        self.engine = db.engine(url)
        self.audit = AuditLog(self.keys, self.engine)
        self.cases = Cases(self.keys, self.audit)
        self.review = ReviewQueue(self.keys, self.audit)
        self.accounts = Accounts(self.audit)
        self.process = None
        self.totp_secrets, self.last_step, self.recovery_codes = {}, {}, {}
        self.signed_in = {}  # clients of accounts with a second factor: each sign-in spends a time step

    def cli(self, *args, stdin=None):
        return subprocess.run([str(ROOT / ".venv/bin/triage"), *args], env=self.env, input=stdin,
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    def start(self):
        self.log = open(self.workdir / "console.log", "w")
        self.process = subprocess.Popen([str(ROOT / ".venv/bin/triage"), "console", "serve"], env=self.env,
                                        cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/health", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.3)
        raise RuntimeError((self.workdir / "console.log").read_text())

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(30)
            self.log.close()

    def user(self, name, role):
        if not self.accounts.get(name):
            self.accounts.create(name, role, PASSWORD, actor="test")
        return name

    def client(self, name=None, role=None):
        """A client signed in as ``name``, through the second factor when the account needs one
        (enrolling it the first time). Those clients are kept: a code is good for one sign-in only,
        so signing in again at once would wait for the next 30 s step."""
        if name in self.signed_in:
            return self.signed_in[name]
        client = Client(self.base)
        if name:
            self.user(name, role)
            response = client.login(name, PASSWORD)
            if response.url.endswith("/totp/enrol"):
                response = self.enrol(client, name)
                response = client.get(re.search(r'href="([^"]+)" id="continue"', response.text).group(1))
            elif response.url.endswith("/login/code"):
                response = client.second_step(self.code(name))
                self.signed_in[name] = client
            assert response.status_code in (200, 302) and "/login" not in response.url, response.text
            assert "/totp/enrol" not in response.headers.get("Location", "")
        return client

    def enrol(self, client, name):
        """Confirms the secret shown on the enrolment page; the response shows the recovery codes."""
        page = client.get("/totp/enrol")
        assert page.status_code == 200, page.text
        self.totp_secrets[name] = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
        self.last_step.pop(name, None)
        response = client.post("/totp/enrol", {"code": self.code(name)})
        assert response.status_code == 200 and 'id="recovery-codes"' in response.text, response.text
        self.recovery_codes[name] = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", response.text)
        self.signed_in[name] = client
        return response

    def code(self, name):
        """A code the server has not accepted yet for this account: the next unused step within
        one step of now, waiting for the clock when all three are spent."""
        now, into_step = divmod(time.time(), 30)
        now = int(now)
        earliest = now - 1 if into_step < 25 else now  # the previous step only while it stays valid for 5 s
        step = max(earliest, self.last_step.get(name, earliest - 1) + 1)
        if step > now + 1:
            time.sleep((step - 1) * 30 - time.time() + 0.5)
        self.last_step[name] = step
        return pyotp.TOTP(self.totp_secrets[name]).at(step * 30)

    def new_case(self, text=CANARY, decision="private"):
        sender = f"psid-{uuid.uuid4().hex[:8]}"
        return self.cases.open_case("facebook", sender, {"decision": decision, "intent": "disclose_diagnosis_results",
                                                         "confidence": 0.93, "language": "en"}, text)

    def events(self, event):
        return [row for row in self.audit.rows() if row["event"] == event]


class Client(requests.Session):
    def __init__(self, base):
        super().__init__()
        self.base = base

    def get(self, path, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return super().get(self.base + path, timeout=30, **kwargs)

    def post(self, path, data=None, csrf=True, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        data = dict(data or {})
        if csrf is True:
            data["csrf"] = self.csrf()
        elif csrf:
            data["csrf"] = csrf
        return super().post(self.base + path, data=data, timeout=60, **kwargs)

    def csrf(self):
        page = self.get("/", allow_redirects=True)
        match = re.search(r'name="csrf-token" content="([^"]*)"', page.text)
        return match.group(1) if match else ""

    def login(self, name, password):
        form = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        return super().post(self.base + "/login", data={"username": name, "password": password, "csrf": token},
                            timeout=60)

    def second_step(self, code, **kwargs):
        """The code form after the password: its token comes with the sealed sign-in state."""
        form = self.get("/login/code")
        match = re.search(r'name="csrf" value="([^"]+)"', form.text)
        return super().post(self.base + "/login/code", data={"code": code, "csrf": match.group(1) if match else ""},
                            timeout=60, **kwargs)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def console(request, tmp_path_factory):
    from tests.conftest import empty_pg

    workdir = tmp_path_factory.mktemp(f"console-{request.param}")
    url = f"sqlite:///{workdir / 'triage.db'}" if request.param == "sqlite" else empty_pg(request.getfixturevalue("pg_url"))
    server = Console(workdir, url).start()
    yield server
    server.stop()


PHI_PAGES = ["/inbox", "/audit", "/review", "/accounts"]


def test_without_a_session_every_phi_route_redirects_or_401(console):
    case_id = console.new_case()
    anonymous = console.client()
    for path in PHI_PAGES + [f"/cases/{case_id}"]:
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), path
    assert anonymous.get("/api/cases").status_code == 401
    for path in (f"/cases/{case_id}/claim", f"/cases/{case_id}/reply", f"/cases/{case_id}/resolve", "/audit/export",
                 "/accounts"):
        response = anonymous.post(path, {"text": "x", "outcome": "contacted"}, csrf="forged")
        assert response.status_code == 401, path
        assert CANARY not in response.text
    assert console.cases.get(case_id)["status"] == "open"
    assert not [e for e in console.events("viewed") if e["case_id"] == case_id]
    assert console.events("exported") == []
    signed_out = anonymous.post("/logout", csrf=None)  # nothing to sign out of: back to the sign-in page
    assert signed_out.status_code == 302 and signed_out.headers["Location"] == "/login"


def test_each_role_reaches_only_its_pages(console):
    case_id = console.new_case()
    staff = console.client("nurse.kim", "staff")
    auditor = console.client("aud.lee", "auditor")
    admin = console.client("ana", "admin")
    for path in ("/audit", "/review", "/accounts"):
        assert staff.get(path).status_code == 403, path
    assert staff.post("/audit/export").status_code == 403
    assert staff.post("/accounts", {"username": "mallory", "role": "admin", "password": PASSWORD}).status_code == 403
    assert console.accounts.get("mallory") is None
    for path in ("/inbox", f"/cases/{case_id}", "/review", "/accounts", "/api/cases"):
        assert auditor.get(path).status_code == 403, path
    assert auditor.post(f"/cases/{case_id}/claim").status_code == 403
    assert auditor.get("/audit").status_code == 200
    assert not [e for e in console.events("viewed") if e["case_id"] == case_id]
    for path in PHI_PAGES + [f"/cases/{case_id}"]:
        assert admin.get(path).status_code == 200, path
    assert staff.get("/inbox").status_code == 200
    assert staff.get(f"/cases/{case_id}").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(console):
    case_id = console.new_case()
    staff = console.client("nurse.kim", "staff")
    assert staff.post(f"/cases/{case_id}/claim", csrf=None).status_code == 403
    assert staff.post(f"/cases/{case_id}/claim", csrf="not-the-token").status_code == 403
    other = console.client("nurse.ola", "staff")  # a real token, but another person's
    assert staff.post(f"/cases/{case_id}/claim", csrf=other.csrf()).status_code == 403
    assert console.cases.get(case_id)["status"] == "open"
    response = staff.post(f"/cases/{case_id}/claim")
    assert response.status_code == 302
    assert console.cases.get(case_id)["claimed_by"] == "nurse.kim"
    # The sign-in form has its own token too (login CSRF).
    fresh = console.client()
    refused = super(Client, fresh).post(fresh.base + "/login", data={"username": "nurse.kim", "password": PASSWORD},
                                        timeout=30, allow_redirects=False)
    assert refused.status_code == 403 and COOKIE_NAME not in refused.cookies


COOKIE_NAME = "triage_console"


def test_session_cookie_is_httponly_samesite_and_not_stored_in_clear(console):
    client = console.client()
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    console.user("nurse.kim", "staff")
    response = super(Client, client).post(client.base + "/login", allow_redirects=False, timeout=30,
                                          data={"username": "nurse.kim", "password": PASSWORD, "csrf": token})
    assert response.status_code == 302
    header = [h for h in response.raw.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME + "=")][0]
    assert "HttpOnly" in header and "SameSite=Strict" in header
    value = header.split(";")[0].split("=", 1)[1]
    with console.engine.connect() as connection:
        stored = [r.token_hash for r in connection.execute(db.console_sessions.select()).all()]
    assert value not in stored and len(value) >= 40
    for path in ("/inbox", "/login"):
        assert client.get(path).headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in client.get(path).headers["Content-Security-Policy"]


def test_failed_sign_ins_are_rate_limited(console):
    console.user("nurse.rate", "staff")
    client = console.client()
    for _ in range(5):
        assert client.login("nurse.rate", "wrong password!!").status_code == 401
    throttled = client.login("nurse.rate", PASSWORD)  # even the right password, now
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in throttled.text
    failed = [e for e in console.events("login_failed")]
    assert [e["outcome"] for e in failed[-6:]] == ["bad_credentials"] * 5 + ["throttled"]
    assert all(e["actor"] == "console" for e in failed)  # the typed username is sealed, not a column
    # Another account from the same address is not locked out by these five.
    assert console.client("nurse.kim", "staff").get("/inbox").status_code == 200


def test_the_list_never_shows_message_text_and_opening_a_case_is_audited(console):
    case_id = console.new_case(CANARY)
    urgent_id = console.new_case("CANARY-Quill-5120 i want to end my life", decision="crisis")
    staff = console.client("nurse.kim", "staff")
    inbox = staff.get("/inbox")
    poll = staff.get("/inbox", headers={"X-Console-Poll": "1"})
    api = staff.get("/api/cases")
    for response in (inbox, poll, api):
        assert response.status_code == 200
        assert "CANARY" not in response.text and "hiv" not in response.text.lower()
        assert "disclose_" not in response.text and "end my life" not in response.text
    assert case_id in inbox.text and urgent_id in inbox.text
    assert inbox.text.index(urgent_id) < inbox.text.index(case_id)  # urgent first
    before = len(console.events("viewed"))
    page = staff.get(f"/cases/{case_id}")
    assert CANARY in page.text
    admin = console.client("ana", "admin")
    admin.get(f"/cases/{case_id}")
    views = console.events("viewed")[before:]
    assert [(v["actor"], v["case_id"]) for v in views] == [("staff:nurse.kim", case_id), ("staff:ana", case_id)]
    assert console.audit.verify().ok
    audit_page = admin.get("/audit")
    assert "audit chain OK" in audit_page.text and "viewed" in audit_page.text and "CANARY" not in audit_page.text


def test_resolve_with_a_correction_feeds_the_review_queue(console):
    case_id = console.new_case("i think i have the flu, can i book a flu jab")
    staff = console.client("nurse.kim", "staff")
    response = staff.post(f"/cases/{case_id}/resolve", {"outcome": "not_needed", "correct_intent": "book_appointment",
                                                        "was_routine": "1"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/inbox?done=resolved")
    case = console.cases.get(case_id)
    assert case["status"] == "resolved" and case["resolved_by"] == "nurse.kim"
    items = [i for i in console.review.list() if i["case_id"] == case_id]
    assert items and items[0]["suggested_intent"] == "book_appointment"
    # A bad outcome gets a clear message, and the case stays as it was.
    other = console.new_case()
    bad = staff.post(f"/cases/{other}/resolve", {"outcome": "vanished"})
    assert bad.status_code == 400 and "unknown outcome" in bad.text
    assert console.cases.get(other)["status"] == "open"


def test_reply_to_a_rest_case_is_refused_with_a_reason_and_the_draft_kept(console):
    sender = f"rest-{uuid.uuid4().hex[:6]}"
    case_id = console.cases.open_case("rest", sender, {"decision": "private", "intent": "disclose_symptoms",
                                                      "confidence": 0.9, "language": "en"}, "my chest feels tight")
    staff = console.client("nurse.kim", "staff")
    response = staff.post(f"/cases/{case_id}/reply", {"text": "Please call us on the secure line."})
    assert response.status_code == 400
    assert "cannot receive a reply" in response.text and "Please call us on the secure line." in response.text


def test_admin_review_page_labels_through_the_shared_queue(console):
    item = console.review.add("low_confidence", "my name is Sarah Collins, can my dog visit the ward",
                              {"decision": "private", "intent": "out_of_scope", "language": "en", "confidence": 0.41})
    admin = console.client("ana", "admin")
    page = admin.get("/review")
    assert item in page.text and "my name is &lt;NAME&gt;" in page.text and "Collins" not in page.text
    refused = admin.post(f"/review/{item}/label", {"intent": "ask_nothing"})
    assert refused.status_code == 400 and "unknown intent" in refused.text
    before = (console.data_dir / "nlu" / "en" / "routine.yml").read_text()
    assert admin.post(f"/review/{item}/label", {"intent": "ask_visiting_hours"}).status_code == 302
    after = (console.data_dir / "nlu" / "en" / "routine.yml").read_text()
    assert len(after.splitlines()) == len(before.splitlines()) + 1 and "can my dog visit the ward" in after
    labelled = console.events("labelled")[-1]
    assert labelled["actor"] == "admin:ana"
    assert (ROOT / "data" / "nlu" / "en" / "routine.yml").read_text().count("can my dog visit the ward") == 0


def test_admin_manages_accounts_and_disabling_ends_sessions_at_once(console):
    admin = console.client("ana", "admin")
    short = admin.post("/accounts", {"username": "temp.nurse", "role": "staff", "password": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.text and "temp.nurse" in short.text
    assert admin.post("/accounts", {"username": "temp.nurse", "role": "staff", "password": PASSWORD}).status_code == 302
    temp = console.client()
    assert temp.login("temp.nurse", PASSWORD).status_code == 200
    assert temp.get("/inbox").status_code == 200
    assert admin.post("/accounts/temp.nurse/active", {"active": "0"}).status_code == 302
    assert temp.get("/inbox").status_code == 302  # signed out at once
    assert temp.login("temp.nurse", PASSWORD).status_code == 401
    assert [e["outcome"] for e in console.events("account_changed")][-1] == "disabled"


def test_decrypted_export_is_admin_only_and_audited(console):
    console.new_case()
    admin = console.client("ana", "admin")
    response = admin.post("/audit/export", {"since": "", "until": ""})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    lines = response.text.splitlines()
    assert lines and any('"intent": "disclose_diagnosis_results"' in line for line in lines)
    exported = console.events("exported")[-1]
    assert exported["actor"] == "admin:ana"
    assert console.audit.verify().ok


def test_cli_creates_accounts_with_clear_errors(console):
    name = f"cli{uuid.uuid4().hex[:6]}"
    created = console.cli("console", "add-user", name, "--role", "auditor", "--password-stdin", stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    again = console.cli("console", "add-user", name, "--role", "auditor", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = console.cli("console", "add-user", "x" + name, "--role", "staff", "--password-stdin", stdin="abc\n")
    assert weak.returncode == 1 and "at least 12 characters" in weak.stderr
    stored = console.accounts.get(name)["password_hash"]
    assert stored.startswith("scrypt$") and PASSWORD not in stored


def test_idle_session_expires_and_polling_does_not_keep_it_alive(tmp_path):
    console = Console(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}", idle_minutes=0.05).start()  # 3 s
    try:
        staff = console.client("nurse.kim", "staff")
        assert staff.get("/inbox").status_code == 200
        signed_in = time.time()
        while time.time() - signed_in < 2:  # the inbox refreshing itself in the background
            assert staff.get("/inbox", headers={"X-Console-Poll": "1"}).status_code == 200
            time.sleep(0.4)
        time.sleep(signed_in + 3.6 - time.time())  # past 3 s since the last real activity, not since the polls
        expired = staff.get("/inbox")
        assert expired.status_code == 302 and "expired=1" in expired.headers["Location"]
        assert "without activity" in staff.get(expired.headers["Location"]).text
        assert staff.get("/inbox").status_code == 302  # the session is gone, not just refused once
        assert console.events("session_expired")
    finally:
        console.stop()


# -- second factor (TOTP) -------------------------------------------------------


def second_factor_failures(console, since):
    return [e["outcome"] for e in list(console.audit.rows())[since:] if e["event"] == "login_failed"]


def test_staff_sign_in_with_a_password_only_by_default(console):
    staff = console.client()
    console.user("nurse.solo", "staff")
    response = staff.login("nurse.solo", PASSWORD)
    assert response.url.endswith("/inbox") and response.history[0].headers["Location"] == "/inbox"
    assert "Second factor" in console.client("ana", "admin").get("/accounts").text
    row = re.search(r'<tr id="account-nurse.solo">.*?</tr>', console.client("ana", "admin").get("/accounts").text,
                    re.S).group(0)
    assert '<td class="totp">off</td>' in row


def test_an_admin_must_enrol_before_any_page_and_the_secret_is_sealed(console):
    console.user("root.new", "admin")
    client = console.client()
    response = client.login("root.new", PASSWORD)
    assert response.url.endswith("/totp/enrol")  # signed in with the password, sent to enrol
    for path in ("/accounts", "/inbox", "/audit", "/review"):
        redirected = client.get(path)
        assert redirected.status_code == 302 and redirected.headers["Location"] == "/totp/enrol", path
    assert client.post("/accounts", {"username": "mallory2", "role": "admin", "password": PASSWORD}).status_code == 403
    assert console.accounts.get("mallory2") is None
    page = client.get("/totp/enrol")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    assert '<svg' in page.text and "data:" not in page.text  # the QR code is inline: the CSP allows no data: image
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/totp/enrol").text.count(secret) == 1  # a reload shows the same secret
    before = len(list(console.audit.rows()))
    wrong = pyotp.TOTP(secret).at(time.time() - 3600)
    refused = client.post("/totp/enrol", {"code": wrong})
    assert refused.status_code == 400 and "not right" in refused.text
    assert client.get("/accounts").status_code == 302  # still not enrolled
    console.totp_secrets["root.new"] = secret
    done = client.post("/totp/enrol", {"code": console.code("root.new")})
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", done.text)
    assert done.status_code == 200 and len(set(codes)) == 10
    assert client.get("/accounts").status_code == 200
    assert client.get("/totp/enrol").status_code == 302  # enrolled: nothing more to set up
    entries = list(console.audit.rows())[before:]
    assert [(e["event"], e["outcome"]) for e in entries] == [("login_failed", "bad_enrolment_code"),
                                                             ("account_changed", "totp_enrolled")]
    with console.engine.connect() as connection:
        stored = connection.execute(console_totp.select()).all()
        hashes = connection.execute(console_recovery_codes.select()).all()
    dumped = repr(stored) + repr(hashes) + repr(list(console.audit.rows())) + repr(console.audit.export(None, None, "test"))
    assert secret not in dumped and not any(code in dumped or code.replace("-", "") in dumped for code in codes)
    assert all(h.code_hash.startswith("scrypt$") for h in hashes)


def test_sign_in_asks_for_the_code_and_opens_no_session_before_it(console):
    client = console.client("aud.code", "auditor")  # enrolled
    fresh = console.client()
    response = fresh.login("aud.code", PASSWORD)
    assert response.url.endswith("/login/code") and 'name="code"' in response.text
    assert COOKIE_NAME not in fresh.cookies
    assert fresh.get("/audit").status_code == 302  # the password alone is no session
    wrong = pyotp.TOTP(console.totp_secrets["aud.code"]).at(time.time() - 3600)  # an hour old
    refused = fresh.second_step(wrong)
    assert refused.status_code == 401 and COOKIE_NAME not in fresh.cookies
    signed_in = fresh.second_step(console.code("aud.code"))
    assert signed_in.url.endswith("/audit") and fresh.get("/audit").status_code == 200
    assert console.events("login")[-1]["outcome"] == "password+totp"
    assert client.get("/audit").status_code == 200
    # Without the password step there is nothing to give a code to.
    stranger = console.client()
    lost = stranger.second_step("123456")
    assert lost.status_code == 401 and "enter your password again" in lost.text
    assert COOKIE_NAME not in stranger.cookies


def test_wrong_codes_are_throttled_like_passwords(console):
    console.client("aud.rate", "auditor")  # enrolled
    client = console.client()
    assert client.login("aud.rate", PASSWORD).url.endswith("/login/code")
    before = len(list(console.audit.rows()))
    right = console.code("aud.rate")
    wrong = pyotp.TOTP(console.totp_secrets["aud.rate"]).at(time.time() - 3600)
    for _ in range(5):
        assert client.second_step(wrong, allow_redirects=False).status_code == 401
    throttled = client.second_step(right, allow_redirects=False)  # even the right code, now
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert client.login("aud.rate", PASSWORD).status_code == 429  # and the password step as well
    assert second_factor_failures(console, before) == ["bad_code"] * 5 + ["throttled", "throttled"]
    assert COOKIE_NAME not in client.cookies


def test_a_used_code_cannot_be_replayed(console):
    console.client("aud.replay", "auditor")  # enrolled
    first, second = console.client(), console.client()
    code = console.code("aud.replay")
    assert first.login("aud.replay", PASSWORD).url.endswith("/login/code")
    assert first.second_step(code).url.endswith("/audit")
    before = len(list(console.audit.rows()))
    assert second.login("aud.replay", PASSWORD).url.endswith("/login/code")
    replayed = second.second_step(code, allow_redirects=False)
    assert replayed.status_code == 401 and COOKIE_NAME not in second.cookies
    assert second_factor_failures(console, before) == ["replayed_code"]
    assert second.second_step(console.code("aud.replay")).url.endswith("/audit")  # the next step's code works


def test_a_recovery_code_works_once(console):
    console.client("aud.lost", "auditor")  # enrolled
    code = console.recovery_codes["aud.lost"][3]
    client = console.client()
    assert client.login("aud.lost", PASSWORD).url.endswith("/login/code")
    assert client.second_step(code.upper().replace("-", " ")).url.endswith("/audit")  # typed loosely
    used = console.events("account_changed")[-1]
    assert used["outcome"] == "recovery_code_used" and console.events("login")[-1]["outcome"] == "password+recovery_code"
    before = len(list(console.audit.rows()))
    again = console.client()
    assert again.login("aud.lost", PASSWORD).url.endswith("/login/code")
    assert again.second_step(code, allow_redirects=False).status_code == 401
    assert second_factor_failures(console, before) == ["bad_recovery_code"]


def test_admin_resets_a_second_factor_which_forces_enrolment_again(console):
    admin = console.client("ana", "admin")
    console.user("nurse.kim", "staff")
    user = console.client("aud.reset", "auditor")  # enrolled and signed in
    assert user.get("/audit").status_code == 200
    response = admin.post("/accounts/aud.reset/totp/reset")
    assert response.status_code == 302 and response.headers["Location"] == "/accounts?done=totp_reset"
    reset = console.events("account_changed")[-1]
    assert (reset["actor"], reset["outcome"]) == ("admin:ana", "totp_reset")
    assert user.get("/audit").status_code == 302  # its sessions ended
    console.signed_in.pop("aud.reset")
    again = console.client()
    assert again.login("aud.reset", PASSWORD).url.endswith("/totp/enrol")
    console.enrol(again, "aud.reset")
    # The CLI does the same, named for an admin account; a staff name is refused.
    refused = console.cli("console", "reset-totp", "aud.reset", "--admin", "nurse.kim")
    assert refused.returncode == 1 and "not an active admin" in refused.stderr
    done = console.cli("console", "reset-totp", "aud.reset", "--admin", "ana")
    assert done.returncode == 0, done.stderr
    reset = console.events("account_changed")[-1]
    assert (reset["actor"], reset["outcome"]) == ("admin:ana", "totp_reset")
    console.signed_in.pop("aud.reset")
    assert console.client().login("aud.reset", PASSWORD).url.endswith("/totp/enrol")


def test_staff_need_a_second_factor_when_configured(tmp_path):
    console = Console(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}", TRIAGE_CONSOLE_TOTP_STAFF="1").start()
    try:
        client = console.client()
        console.user("nurse.kim", "staff")
        assert client.login("nurse.kim", PASSWORD).url.endswith("/totp/enrol")
        console.enrol(client, "nurse.kim")
        assert client.get("/inbox").status_code == 200
        assert console.client().login("nurse.kim", PASSWORD).url.endswith("/login/code")
    finally:
        console.stop()
