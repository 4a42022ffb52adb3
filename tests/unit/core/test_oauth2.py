"""The OAuth2 decisions, pure: request bodies, reading answers, when to renew, which refresh
token is current, the XOAUTH2 string."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from daemon.core.oauth2 import (
    DEVICE_GRANT,
    AccessToken,
    Client,
    Grant,
    Kept,
    Poll,
    TokenRefused,
    authorization_url,
    authorization_url_for,
    code_request,
    current_refresh_token,
    device_token_request,
    device_url_for,
    fingerprint,
    kept_after,
    kept_from_json,
    kept_to_json,
    must_renew,
    parse_xoauth2,
    pkce_challenge,
    read_device_poll,
    read_device_start,
    read_redirect,
    read_token_response,
    renew_at,
    token_request,
    xoauth2,
    xoauth2_error,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
APP = Client("app-id", "s3cret", "https://outlook.office365.com/.default", Grant.CLIENT_CREDENTIALS)
USER = Client("app-id", "", "https://mail.google.com/", Grant.REFRESH_TOKEN)


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def answer(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_client_credentials_request_carries_secret_and_scope() -> None:
    assert form(token_request(APP)) == {
        "grant_type": "client_credentials",
        "client_id": "app-id",
        "client_secret": "s3cret",
        "scope": "https://outlook.office365.com/.default",
    }


def test_refresh_request_of_a_public_client_sends_no_secret() -> None:
    sent = form(token_request(USER, "rt-1"))
    assert sent == {
        "grant_type": "refresh_token",
        "client_id": "app-id",
        "refresh_token": "rt-1",
        "scope": "https://mail.google.com/",
    }
    with pytest.raises(ValueError):
        token_request(USER, "")


def test_device_poll_request() -> None:
    assert form(device_token_request(USER, "dc")) == {
        "grant_type": DEVICE_GRANT,
        "device_code": "dc",
        "client_id": "app-id",
    }


def test_a_token_answer_becomes_a_typed_token() -> None:
    token = read_token_response(
        200,
        answer(access_token="at-x1", token_type="Bearer", expires_in=3599, refresh_token="rt-2"),
        NOW,
    )
    assert token.value == "at-x1"
    assert token.expires_at == NOW + timedelta(seconds=3599)
    assert token.refresh_token == "rt-2"
    assert "at-x1" not in repr(token) and "rt-2" not in str(token)


def test_expires_in_as_a_string_and_missing() -> None:
    as_text = read_token_response(200, answer(access_token="a", expires_in="60"), NOW)
    assert as_text.expires_at == NOW + timedelta(seconds=60)
    missing = read_token_response(200, answer(access_token="a"), NOW)
    assert missing.expires_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    "status, body, error",
    [
        (400, answer(error="invalid_grant", error_description="revoked"), "invalid_grant"),
        (401, answer(error="invalid_client"), "invalid_client"),
        (500, b"<html>oops</html>", "invalid_response"),
        (200, answer(token_type="Bearer"), "invalid_response"),
        (200, answer(access_token="a", token_type="mac"), "invalid_response"),
        (503, answer(), "http_503"),
    ],
)
def test_refusals_carry_the_error_code(status: int, body: bytes, error: str) -> None:
    with pytest.raises(TokenRefused) as refused:
        read_token_response(status, body, NOW)
    assert refused.value.error == error


def test_who_must_act() -> None:
    assert TokenRefused("invalid_grant").needs_person
    assert not TokenRefused("temporarily_unavailable").needs_person
    assert not TokenRefused("http_503").needs_person


def test_renewal_a_minute_before_expiry_or_a_quarter_of_a_short_life() -> None:
    hour = AccessToken("a", NOW, NOW + timedelta(hours=1))
    assert renew_at(hour) == NOW + timedelta(minutes=59)
    assert not must_renew(hour, NOW + timedelta(minutes=58, seconds=59))
    assert must_renew(hour, NOW + timedelta(minutes=59))
    short = AccessToken("a", NOW, NOW + timedelta(seconds=4))
    assert renew_at(short) == NOW + timedelta(seconds=3)
    assert not must_renew(short, NOW + timedelta(seconds=2))
    assert must_renew(None, NOW)
    assert must_renew(AccessToken(), NOW)


def test_the_kept_refresh_token_wins_until_a_new_one_is_configured() -> None:
    kept = Kept("rt-rotated", fingerprint("rt-configured"))
    assert current_refresh_token("rt-configured", kept) == "rt-rotated"
    assert current_refresh_token("rt-new-by-admin", kept) == "rt-new-by-admin"
    assert current_refresh_token("rt-configured", None) == "rt-configured"
    authorized = Kept("rt-device", "")  # by `oauth2 authorize`, nothing configured
    assert current_refresh_token("", authorized) == "rt-device"


def test_what_to_keep_after_a_refresh() -> None:
    rotated = AccessToken("a", NOW, NOW, refresh_token="rt-2")
    kept = kept_after("rt-1", rotated, "rt-1")
    assert kept == Kept("rt-2", fingerprint("rt-1"))
    assert kept_after("rt-1", AccessToken("a", NOW, NOW), "rt-1") is None  # not rotated
    same = AccessToken("a", NOW, NOW, refresh_token="rt-1")
    assert kept_after("rt-1", same, "rt-1") is None
    assert kept is not None and "rt-2" not in repr(kept)
    assert fingerprint("rt-1") not in ("rt-1", "")


def test_kept_round_trip_and_damage() -> None:
    kept = Kept("rt-2", fingerprint("rt-1"))
    assert kept_from_json(kept_to_json(kept)) == kept
    assert kept_from_json("") is None
    assert kept_from_json("[1]") is None


def test_xoauth2_string_and_its_parse() -> None:
    raw = xoauth2("feedback@company.example", "ya29.token")
    assert raw == "user=feedback@company.example\x01auth=Bearer ya29.token\x01\x01"
    assert parse_xoauth2(raw.encode()) == ("feedback@company.example", "ya29.token")
    assert parse_xoauth2(b"user=x\x01auth=Basic abc\x01\x01") == ("", "")
    status = json.loads(base64.b64decode(xoauth2_error("mail")))
    assert status == {"status": "401", "schemes": "bearer", "scope": "mail"}


def test_device_start_and_polls() -> None:
    start = read_device_start(
        200,
        answer(device_code="dc", user_code="ABCD-EFGH", verification_url="https://g.co/device"),
    )
    assert (start.user_code, start.verification_uri, start.interval) == (
        "ABCD-EFGH",
        "https://g.co/device",
        5,
    )
    assert read_device_poll(400, answer(error="authorization_pending"), NOW) == (Poll.WAIT, None)
    assert read_device_poll(400, answer(error="slow_down"), NOW) == (Poll.SLOWER, None)
    done, token = read_device_poll(200, answer(access_token="a", refresh_token="r"), NOW)
    assert done is Poll.DONE and token is not None and token.refresh_token == "r"
    for error in ("access_denied", "expired_token"):
        with pytest.raises(TokenRefused):
            read_device_poll(400, answer(error=error), NOW)


def test_device_endpoints_of_known_providers() -> None:
    ms = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert device_url_for(ms).endswith("/oauth2/v2.0/devicecode")
    assert device_url_for("https://oauth2.googleapis.com/token") == (
        "https://oauth2.googleapis.com/device/code"
    )
    assert device_url_for("https://id.example/token") == ""


def test_pkce_s256_of_rfc7636_appendix_b() -> None:
    # RFC 7636 appendix B: this verifier has this challenge
    rfc_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(rfc_verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_authorization_url_asks_for_offline_access_with_pkce() -> None:
    url = authorization_url(
        "https://accounts.google.com/o/oauth2/v2/auth", USER, "http://127.0.0.1:5/", "st", "v" * 43
    )
    query = form(url.split("?", 1)[1].encode())
    assert query["response_type"] == "code" and query["state"] == "st"
    assert query["redirect_uri"] == "http://127.0.0.1:5/"
    assert query["code_challenge"] == pkce_challenge("v" * 43)
    assert query["access_type"] == "offline" and query["scope"] == "https://mail.google.com/"
    sent = form(code_request(USER, "c0de", "http://127.0.0.1:5/", "v" * 43))
    assert sent["grant_type"] == "authorization_code" and sent["code_verifier"] == "v" * 43


def test_the_redirect_gives_the_code_only_for_our_state() -> None:
    assert read_redirect({"code": "c", "state": "st"}, "st") == "c"
    for query in ({"code": "c", "state": "other"}, {"error": "access_denied"}, {"state": "st"}):
        with pytest.raises(TokenRefused):
            read_redirect(query, "st")


def test_authorization_endpoints_of_known_providers() -> None:
    ms = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    assert (
        authorization_url_for(ms)
        == "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    )
    assert authorization_url_for("https://oauth2.googleapis.com/token").startswith(
        "https://accounts.google.com/"
    )
    assert authorization_url_for("https://id.example/token") == ""
